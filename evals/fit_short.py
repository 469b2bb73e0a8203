"""Fit the short-answer span model on the dev split: ``python -m evals.fit_short``.

For every dev item with an ``answer_short``, the reader's most probable candidate sentence that
holds the reference span is split into candidate spans (``qa.answer.short.span_candidates``);
the spans of one sentence compete in a listwise linear model (``fitting.listwise``) whose
target is their token F1s against the reference, raised to a power and normalised. The
threshold below which the quotes are left to speak alone is chosen on what ``qa.ask`` really
does: the spans of the sentence it quotes first (which need not hold the reference), against
the F1 of all its quotes when no span is given, as the evaluation scores it. The
regularisation and the target's power are the pair of ``REGULARISATION`` and
``TARGET_POWERS`` whose best span scores the highest cross-validated F1 on the sentence that
holds the reference. Run it after ``evals.fit_reader`` (the reader picks the sentences); the
test split is never read.
"""

from __future__ import annotations

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
from evals.dataset import EvalItem, load_dataset
from qa.answer.short import (
    MODEL_PATH,
    SPAN_FEATURES,
    load_short_model,
    span_candidates,
    wants_short,
)
from qa.retrieval.analysis import QuestionAnalysis
from qa.retrieval.questions import analysis_of, prepare

REGULARISATION = (0.0003, 0.001, 0.003, 0.01, 0.03, 0.1)  # inverse strengths tried; CV picks one
TARGET_POWERS = (1.0, 2.0, 4.0, 8.0)  # how sharply the target favours the best span; CV picks one
REPEATS = 4  # dealings of the items into the folds, averaged


def _folded(text: str) -> str:
    return " ".join(text.replace("\u2019", "'").replace("\u2018", "'").lower().split())


def collect(items: Sequence[EvalItem], settings: qa.Settings) -> list[dict[str, Any]]:
    """Per item with a reference span: the spans (rows and F1s) of the most probable sentence
    that holds it, to learn from, and those of the sentence ``qa.ask`` quotes first with the F1
    of its quotes alone, to choose the threshold on."""
    out = []
    for item in items:
        if not item.answerable or not item.answer_short:
            continue
        history = list(item.history) or None
        prepared = prepare(item.question, history, settings.max_question_chars)
        analysis = analysis_of(prepared)
        if not wants_short(analysis):
            continue  # a why-, how- or describe-question gets no short answer (the contract)
        cands = qa.reader_candidates(item.question, history, settings=settings)
        ref = _folded(item.answer_short)
        holding = [c for c in cands if ref in _folded(c.text)]
        best = max(holding, key=lambda c: c.probability) if holding else None
        oracle = _spans_of(analysis, best, item.answer_short) if best else _NO_SPANS
        answer = qa.ask(item.question, history, settings=settings)
        first = answer.citations[0] if answer.citations and not answer.abstained else None
        quoted = next((c for c in cands if first and (c.source, c.start, c.end)
                       == (first.source, first.start, first.end)), None)
        out.append({
            "id": item.id,
            "oracle": oracle,
            "asked": _spans_of(analysis, quoted, item.answer_short) if quoted else _NO_SPANS,
            # Quoted with no short answer: the evaluation scores all the quotes.
            "quotes_f1": m.token_f1(" ".join(c.quote for c in answer.citations),
                                    item.answer_short) if quoted else 0.0,
        })
    return out


Spans = tuple[list[list[float]], list[float]]  # a sentence's span rows and their F1s
_NO_SPANS: Spans = ([], [])


def _spans_of(analysis: QuestionAnalysis, sentence: qa.ReaderCandidate, reference: str) -> Spans:
    spans = span_candidates(analysis, sentence.text, sentence.entities)
    return ([list(s.features) for s in spans],
            [m.token_f1(sentence.text[s.start:s.end], reference) for s in spans])


def fit(data: list[dict[str, Any]], c: float = 1.0, power: float = 1.0) -> dict[str, Any]:
    rows = np.asarray([r for d in data for r in d["oracle"][0]], dtype=np.float64)
    mean, scale = rows.mean(axis=0), rows.std(axis=0)
    scale[scale == 0] = 1.0
    # Listwise: the spans of one item compete, and the target is their F1s raised to ``power``
    # and normalised: a higher power leaves the near misses ("in 2017" for "2017") less of
    # the target, so the choice leans to the best span (items whose spans all miss teach
    # nothing and are left out).
    groups = [
        ((np.asarray(rows_, dtype=np.float64) - mean) / scale, target / target.sum())
        for rows_, f1 in (d["oracle"] for d in data) if rows_ and sum(f1) > 0
        for target in [np.asarray(f1, dtype=np.float64) ** power]
    ]
    weights = fitting.listwise(groups, c)
    bias = 0.0  # a softmax has no intercept; the threshold is fitted on the scores below
    fitted = {"weights": weights, "bias": bias, "mean": mean, "scale": scale}
    best = [_best(d["asked"], fitted) for d in data]
    thresholds = sorted({round(p, 4) for p, _ in best} | {0.0, 1.01})
    threshold = max(thresholds, key=lambda t: _mean_f1(data, best, t))
    return {
        "features": list(SPAN_FEATURES),
        "weights": [float(w) for w in weights], "bias": bias,
        "mean": [float(v) for v in mean], "scale": [float(v) for v in scale],
        "threshold": float(threshold), "C": c, "target_power": power,
        "fitted_on": "evals/dataset.jsonl", "fitted_at": datetime.now(UTC).isoformat(),
        "items": len(data), "spans": len(rows),
        "dev_short_f1": round(_mean_f1(data, best, threshold), 3),
        "dev_quotes_f1": round(float(np.mean([d["quotes_f1"] for d in data])), 3),
        "dev_oracle_span_f1": round(float(np.mean(
            [_best(d["oracle"], fitted)[1] for d in data if d["oracle"][0]])), 3),
    }


def _best(spans: Spans, model: dict[str, Any]) -> tuple[float, float]:
    """The probability and F1 of a sentence's most probable span."""
    rows, f1 = spans
    if not rows:
        return 0.0, 0.0
    x = (np.asarray(rows, dtype=np.float64) - model["mean"]) / model["scale"]
    p = 1.0 / (1.0 + np.exp(-(x @ np.asarray(model["weights"]) + model["bias"])))
    i = int(np.argmax(p))
    return float(p[i]), float(f1[i])


def _mean_f1(data: list[dict[str, Any]], best: list[tuple[float, float]], t: float) -> float:
    """The evaluation's short-answer F1 with threshold ``t``: the span's when it passes,
    else all the quotes'."""
    return float(np.mean([
        f1 if d["asked"][0] and p >= t else d["quotes_f1"]
        for d, (p, f1) in zip(data, best, strict=True)
    ]))


def cross_validate(
    data: list[dict[str, Any]], folds: int, c: float = 1.0, power: float = 1.0
) -> dict[str, float]:
    """Held-out F1s over ``folds`` fixed folds of the items, dealt ``REPEATS`` times (one
    dealing of some 160 items moves a figure by ±0.02, more than neighbouring regularisations
    differ): ``span``, of the best span of the sentence that holds the reference (what the
    weights learn, and what chooses the regularisation: the figure through ``qa.ask`` adds the
    noise of the reader's first quote), and ``short``, the evaluation's short-answer F1."""
    spans, shorts = [], []
    splits = [s for r in range(REPEATS) for s in fitting.folds(data, folds, repeat=r)]
    for train, held in splits:
        model = fit(train, c, power)
        arrays = {key: np.asarray(model[key]) for key in ("weights", "mean", "scale")}
        arrays = {**arrays, "bias": model["bias"]}
        spans.append(np.mean([_best(d["oracle"], arrays)[1] for d in held if d["oracle"][0]]))
        shorts.append(_mean_f1(held, [_best(d["asked"], arrays) for d in held],
                               model["threshold"]))
    return {"span": round(float(np.mean(spans)), 3), "short": round(float(np.mean(shorts)), 3)}


def _usable_model(path: Path) -> None:
    """Make sure ``qa.ask`` can run before the fit: a model fitted for other features (a
    feature was just added) is replaced by one that gives no short answer, which leaves the
    quotes the fit looks at as they are."""
    try:
        load_short_model(path)
    except qa.QAError:
        n = len(SPAN_FEATURES)
        path.write_text(json.dumps({
            "features": list(SPAN_FEATURES), "weights": [0.0] * n, "bias": 0.0,
            "mean": [0.0] * n, "scale": [1.0] * n, "threshold": 1.01,
        }) + "\n", encoding="utf-8")
        print(f"{path} was fitted for other features: replaced until this fit ends")
    load_short_model.cache_clear()


def main(argv: Sequence[str] | None = None) -> int:
    p = fitting.parser("python -m evals.fit_short", __doc__, MODEL_PATH, "the model")
    args = p.parse_args(argv)
    if fitting.refuses(args.dataset):
        return 2
    started = time.perf_counter()
    settings = qa.Settings.from_env()
    try:
        _usable_model(MODEL_PATH)  # the one qa.ask reads, whatever --out says
        data = collect(load_dataset(args.dataset), settings)
    except qa.QAError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if not data:
        print("error: no dev item has an answer_short a short answer could give", file=sys.stderr)
        return 1
    c, power = 1.0, 1.0
    if args.cv > 1:
        scores = {(c, power): cross_validate(data, args.cv, c, power)
                  for c in REGULARISATION for power in TARGET_POWERS}
        c, power = max(scores, key=lambda k: scores[k]["span"])
        print("cross-validated span F1 (short-answer F1) by C and target power: " + ", ".join(
            f"{k[0]}/{k[1]:g}: {v['span']} ({v['short']})" for k, v in scores.items()))
    model = fit(data, c, power)
    if args.cv > 1:
        model["cross_validated_span_f1"] = scores[c, power]["span"]
        model["cross_validated_short_f1"] = scores[c, power]["short"]
    args.out.write_text(json.dumps(model, indent=1) + "\n", encoding="utf-8")
    print(f"fitted on {model['spans']} spans of {model['items']} items in "
          f"{time.perf_counter() - started:.1f} s -> {args.out}")
    for name, w in zip(model["features"], model["weights"], strict=True):
        print(f"  {name:<16} {w:+.3f}")
    print(f"  C={c} target power={power:g} threshold={model['threshold']:.4f}  "
          f"dev short F1 {model['dev_short_f1']} "
          f"(quotes alone {model['dev_quotes_f1']}; best span of the sentence holding the "
          f"reference {model['dev_oracle_span_f1']}), "
          f"cross-validated {model.get('cross_validated_short_f1', 'not run')} "
          f"(span {model.get('cross_validated_span_f1', 'not run')})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
