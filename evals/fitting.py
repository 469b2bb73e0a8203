"""What the fitting scripts (``fit_retrieval``, ``fit_reader``, ``fit_short``) share: their
command line, their refusal of the test split, and the mean of per-fold figures."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from evals.dataset import DEFAULT_PATH

TEST_SPLIT = "testset.jsonl"


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


def fold_means(reports: Sequence[dict[str, float]]) -> dict[str, float]:
    """Each figure's mean over the folds, rounded as the scripts print them."""
    return {key: round(float(np.mean([r[key] for r in reports])), 3) for key in reports[0]}
