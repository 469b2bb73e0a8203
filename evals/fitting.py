"""What the fitting scripts (``fit_retrieval``, ``fit_reader``, ``fit_short``) share: their
command line, their refusal of the test split, the folds and the mean of per-fold figures,
and the listwise fit of a linear score."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TypeVar

import numpy as np

from evals.dataset import DEFAULT_PATH

TEST_SPLIT = "testset.jsonl"
T = TypeVar("T")


def parser(prog: str, doc: str | None, out: Path, what: str) -> argparse.ArgumentParser:
    """``--dataset`` (the dev split), ``--out`` (where ``what`` is written) and ``--cv``."""
    p = argparse.ArgumentParser(prog=prog, description=doc,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", type=Path, default=DEFAULT_PATH,
                   help="the dev split to fit on (default: evals/dataset.jsonl)")
    p.add_argument("--out", type=Path, default=out, help=f"where to write {what}")
    p.add_argument("--cv", type=int, default=5, metavar="K",
                   help="also report K-fold cross-validated figures (0: skip)")
    return p


def refuses(dataset: Path) -> bool:
    """True (and says so) when asked to fit on the frozen test split."""
    if dataset.name == TEST_SPLIT:
        print("refusing to fit on the test split", file=sys.stderr)
        return True
    return False


def folds(
    data: Sequence[T], k: int, group: Callable[[T], str] | None = None, repeat: int = 0
) -> Iterator[tuple[list[T], list[T]]]:
    """``k`` fixed (train, held-out) splits of ``data``; with ``group``, the items of one group
    (a question and its near-miss twins) always fall in the same fold. ``repeat`` > 0 deals
    the items into the folds in another fixed (seeded) order: repeated cross-validation."""
    keys = [group(d) if group else str(i) for i, d in enumerate(data)]
    order = sorted(set(keys)) if group else keys
    if repeat:
        order = [order[i] for i in np.random.default_rng(repeat).permutation(len(order))]
    fold_of = {g: i % k for i, g in enumerate(order)}
    for n in range(k):
        yield ([d for d, g in zip(data, keys, strict=True) if fold_of[g] != n],
               [d for d, g in zip(data, keys, strict=True) if fold_of[g] == n])


def smoothed(scores: Sequence[float], window: int = 8) -> list[float]:
    """Each score averaged with up to ``window`` neighbours either side: a threshold chosen
    on the smoothed curve sits on a plateau, not on a spike one or two items wide."""
    return [float(np.mean(scores[max(i - window, 0) : i + window + 1]))
            for i in range(len(scores))]


def fold_means(reports: Sequence[dict[str, float]]) -> dict[str, float]:
    """Each figure's mean over the folds, rounded as the scripts print them."""
    return {key: round(float(np.mean([r[key] for r in reports])), 3) for key in reports[0]}


def listwise(groups: Sequence[tuple[np.ndarray, np.ndarray]], c: float, *,
             null: Sequence[float] | None = None) -> np.ndarray:
    """Linear weights under which each group's rows compete in a softmax whose target is the
    group's distribution (cross-entropy, L2 penalty ``1 / c``; convex, fitted by L-BFGS).

    The reader picks one sentence of a question and one span of a sentence: fitting the
    choice itself (a conditional logit) beats scoring every row alone, which spends the fit on
    separating easy negatives of other questions. ``groups`` hold standardised rows and target
    weights that sum to one. With ``null`` (a weight per group), every group's softmax has
    one more option, "none of these", with a fitted constant score and the target's missing
    share (all of it for a group whose target is zero, an unanswerable question): the rows of
    questions the sources cannot answer then count as well, as SQuAD 2.0 readers train their
    no-answer option. The weights returned are the rows' only."""
    from scipy.optimize import minimize

    with_null = null is not None
    weights = list(null) if null is not None else [1.0] * len(groups)

    def loss(params: np.ndarray) -> tuple[float, np.ndarray]:
        w = params[:-1] if with_null else params
        total = 0.5 * float(w @ w) / c
        grad = np.zeros_like(params)
        grad[: len(w)] = w / c
        for (x, target), weight in zip(groups, weights, strict=True):
            z = x @ w
            if with_null:
                z = np.append(z, params[-1])
                target = np.append(target, max(0.0, 1.0 - float(target.sum())))
            p = np.exp(z - z.max())
            p /= p.sum()
            total -= weight * float(target @ np.log(np.clip(p, 1e-300, None)))
            d = weight * (p - target)
            grad[: len(w)] += x.T @ d[: x.shape[0]]
            if with_null:
                grad[-1] += d[-1]
        return total, grad

    dim = groups[0][0].shape[1] if groups else 0
    found = minimize(loss, np.zeros(dim + int(with_null)), jac=True, method="L-BFGS-B",
                     options={"maxiter": 2000}).x
    return np.asarray(found[:dim])
