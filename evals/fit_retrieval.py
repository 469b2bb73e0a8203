"""Fit how hybrid retrieval fuses its rankings: ``python -m evals.fit_retrieval``.

For every answerable dev question the three rankings (dense chunks, BM25, best sentence) are
computed once; a grid search over the weight of each ranking and the reciprocal-rank constant
then keeps the fusion with the best mean of recall@5 and recall within the first 2,000
characters against the gold evidence. Written to ``qa/retrieval/fusion.json``; five-fold
cross-validated figures (the grid chosen on four folds, scored on the fifth) are printed and
stored beside the in-sample ones. The test split is never read.
"""

from __future__ import annotations

import itertools
import json
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

import qa
from evals import fitting
from evals import metrics as m
from evals.dataset import load_dataset
from evals.runner import Texts
from qa.index.opened import open_index
from qa.retrieval.hybrid import (
    DEFAULT_FUSION,
    FUSION_PATH,
    POOL,
    RANKINGS,
    Fusion,
    lexical_query,
    ranked_lists,
)
from qa.retrieval.questions import prepare

WEIGHTS = (0.0, 0.5, 1.0, 2.0)
CONSTANTS = (5.0, 20.0, 60.0)
BUDGET = 2000  # characters, as the eval's recall@2000c


def collect(settings: qa.Settings, path: Path) -> list[dict[str, Any]]:
    """Per answerable dev question: its three rankings, its chunks' spans and its gold spans."""
    index, texts = open_index(settings), Texts(settings)
    out = []
    for item in load_dataset(path):
        gold = texts.gold(item) if item.answerable else []
        if not gold:
            continue
        prepared = prepare(item.question, list(item.history) or None, settings.max_question_chars)
        vector = index.embedder.encode_query(prepared.query)
        results = {"dense": index.store.query_chunks(vector, POOL),
                   "lexical": index.lexical.search(lexical_query(prepared.query), POOL),
                   "passthrough": {"vector": vector}}
        records, rankings = ranked_lists(index, results)
        spans = {c: m.Span(str(meta["source"]), int(meta["start"]), int(meta["end"]))
                 for c, (_, meta) in records.items()}
        out.append({"rankings": rankings, "spans": spans, "gold": gold})
    return out


def score(fusion: Fusion, data: Sequence[dict[str, Any]]) -> dict[str, float]:
    """Mean recall@5 and recall@2000c of ``fusion`` over the questions."""
    at5, at_chars = [], []
    for d in data:
        fused = fusion.scores(d["rankings"])
        ranked = [d["spans"][c] for c, _ in sorted(fused.items(), key=lambda kv: -kv[1])
                  if c in d["spans"]]
        at5.append(m.recall_at_k(ranked, d["gold"], 5) or 0.0)
        at_chars.append(m.recall_at_chars(ranked, d["gold"], BUDGET) or 0.0)
    return {"recall@5": round(float(np.mean(at5)), 3),
            f"recall@{BUDGET}c": round(float(np.mean(at_chars)), 3)}


def _objective(figures: dict[str, float]) -> float:
    return sum(figures.values())


def grid() -> list[Fusion]:
    out = []
    for weights in itertools.product(WEIGHTS, repeat=len(RANKINGS)):
        if any(weights):
            out.append(Fusion(dict(zip(RANKINGS, weights, strict=True)), 0.0))
    return [Fusion(f.weights, k) for f in out for k in CONSTANTS]


def best(data: Sequence[dict[str, Any]]) -> Fusion:
    """The grid's best fusion on ``data`` (ties: the earlier, i.e. plainer, one)."""
    return max(grid(), key=lambda f: _objective(score(f, data)))


def cross_validate(data: Sequence[dict[str, Any]], folds: int) -> dict[str, float]:
    return fitting.fold_means([score(best(train), held)
                               for train, held in fitting.folds(data, folds)])


def main(argv: Sequence[str] | None = None) -> int:
    p = fitting.parser("python -m evals.fit_retrieval", __doc__, FUSION_PATH, "the fusion")
    args = p.parse_args(argv)
    if fitting.refuses(args.dataset):
        return 2
    started = time.perf_counter()
    try:
        data = collect(qa.Settings.from_env(), args.dataset)
    except qa.QAError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if not data:
        print("error: no dev question has gold evidence in the index", file=sys.stderr)
        return 1
    fusion = best(data)
    out: dict[str, Any] = {
        "weights": fusion.weights, "k": fusion.k,
        "fitted_on": "evals/dataset.jsonl", "fitted_at": datetime.now(UTC).isoformat(),
        "questions": len(data), "dev": score(fusion, data),
        "plain_rrf": score(DEFAULT_FUSION, data),
    }
    if args.cv > 1:
        out["cross_validated"] = cross_validate(data, args.cv)
    args.out.write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
    print(f"fitted on {len(data)} questions in {time.perf_counter() - started:.1f} s -> {args.out}")
    print(f"  weights {fusion.weights}, k={fusion.k:g}")
    print(f"  dev {out['dev']} (plain RRF {out['plain_rrf']}); "
          f"cross-validated {out.get('cross_validated', 'not run')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
