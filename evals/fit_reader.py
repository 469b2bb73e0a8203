"""Fit the extractive reader's scorer on the dev split: ``python -m evals.fit_reader``.

For every dev question the reader's candidate sentences and their features come from
``qa.reader_candidates``; a sentence is a positive when it overlaps the item's gold evidence.
A listwise linear ranker (a question's sentences compete in a softmax; standardised features),
Platt-scaled, gives each sentence a calibrated probability of answering. The decision constants
are then chosen on the same split by grid search, never by hand: ``top_n`` and
``abstain_threshold`` (abstain when the answer model, fed Π(1 − pᵢ) over the ``top_n`` best and
the best sentence's context, says so) maximise right answers plus right abstentions minus false
abstentions; ``second_ratio`` (a further quote needs this share of the best probability)
maximises the F1 of the quoted sentences against the gold ones, smoothed over its neighbours.
The test split is never read.
"""

from __future__ import annotations

import json
import re
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
from evals.runner import Texts
from qa.answer.extractive import QUOTES
from qa.answer.scorer import ANSWER_CONTEXT, ANSWER_FEATURES, answer_inputs

MODEL_PATH = Path(__file__).resolve().parents[1] / "qa" / "answer" / "reader_model.json"
TOP_N = (1, 2, 3, 5)
SECOND_RATIOS = (*(round(0.3 + 0.05 * i, 2) for i in range(15)), 1.01)
# The second-quote ratio maximises the quotes' F1 averaged with its neighbours': the curve is
# flat from 0.5 to 0.8, and its raw maximum moved between them as the dev split grew.
RATIO_SMOOTH = 2
C = 1.0  # inverse L2 strength of the sentence ranker (as scikit-learn's default)
# How much an unanswerable question's "none of these" target weighs in the ranker's fit
# against an answerable one's gold sentences (cross-validated decision over 2 x 5 folds of
# cached candidates: without them 0.974, 0.3 -> 0.988, 1.0 -> 0.977; the fit itself, 4 x 5
# folds: 0.969 -> 0.973, and 40 dev items right that were wrong, 30 the other way).
NULL_WEIGHT = 0.3
# The abstention threshold maximises the decision score averaged over this many neighbouring
# thresholds either side: the raw maximum sits on a spike of one or two questions, which
# floating-point noise in the fit moves (cross-validated: 1.040 raw; 1.049-1.051 for windows
# of 3 to 15).
SMOOTH = 8
MIN_LABEL_SHARE = 0.5  # a sentence is gold when half of it, or half the evidence, overlaps


def label(candidate: qa.ReaderCandidate, gold: Sequence[m.Span],
          key_facts: Sequence[str] = ()) -> int:
    """1 when the sentence overlaps gold evidence or states one of the item's key facts."""
    if key_facts and m.has_key_fact(candidate.text, key_facts):
        return 1
    span = m.Span(candidate.source, candidate.start, candidate.end)
    for g in gold:
        shared = m.overlap(span, g)
        if shared and shared >= MIN_LABEL_SHARE * min(len(span), len(g)):
            return 1
    return 0


# Replacements for near misses made from the dev questions: places and people that a policy
# corpus may well not mention. Each is used only when the corpus does not contain it.
OTHER_PLACES = ("Brazil", "Argentina", "Nigeria", "Indonesia", "Mexico", "Canada", "Australia",
                "Kenya", "Peru", "Vietnam", "Norway", "Portugal", "Chile", "Egypt")
OTHER_PEOPLE = ("Maria Lopez", "John Whitfield", "Anna Berg", "Tomas Novak", "Grace Okafor")
OTHER_THINGS = ("rainfall", "tourism", "literacy", "vaccination", "pension", "harvest",
                "salary", "broadband", "obesity", "recycling", "fishing quota", "museum")
YEAR_SHIFTS = (7, -6, 13, -11, 19)
TWIN_PREFIX = "aug-"


def near_misses(items: Sequence[EvalItem], corpus: str) -> list[EvalItem]:
    """Unanswerable twins of the dev questions: the same words with one detail the sources
    do not hold (another year, country or person, or a thing they never mention). The dev
    split has few unanswerable questions; these teach the abstention what a near miss is."""
    from dataclasses import replace

    from qa.retrieval.analysis import analyse

    lowered = corpus.lower()
    out: list[EvalItem] = []
    for n, item in enumerate(items):
        if not item.answerable or item.history:
            continue
        analysis = analyse(item.question)
        swaps: list[tuple[str, str, str]] = []
        for year in analysis.years:
            new = next((str(int(year) + d) for d in YEAR_SHIFTS
                        if str(int(year) + d) not in corpus), None)
            if new:
                swaps.append(("year", year, new))
        for label, text in analysis.entities:
            pool = OTHER_PLACES if label == "GPE" else OTHER_PEOPLE if label == "PERSON" else ()
            fresh = [x for x in pool if x.lower() not in lowered]
            if fresh and text in item.question:
                swaps.append((label.lower(), text, fresh[n % len(fresh)]))
        things = [x for x in OTHER_THINGS if x not in lowered]
        noun = analysis.focus if analysis.focus and not analysis.focus_is_type else None
        if noun and things and re.search(rf"\b{re.escape(noun)}\b", item.question):
            swaps.append(("thing", noun, things[n % len(things)]))
        for word in analysis.topic:  # "the growth rate" -> "the tourism rate"
            if things and re.search(rf"\b{re.escape(word)}\b", item.question):
                swaps.append(("topic", word, things[(n + 1) % len(things)]))
        for kind, old, new in swaps[:2]:
            out.append(replace(
                item, id=f"{TWIN_PREFIX}{item.id}-{kind}", type="unanswerable", expect_abstain=True,
                question=re.sub(rf"\b{re.escape(old)}\b", new, item.question, count=1),
                source=None, section=None,
                answer=None, key_facts=(), evidence=(), answer_short=None,
            ))
    return out


def collect(items: Sequence[EvalItem], settings: qa.Settings) -> list[dict[str, Any]]:
    """Per item: its candidates' feature rows and labels (abstain items: all negative)."""
    texts = Texts(settings)
    out = []
    for item in items:
        if item.type == "injected":
            continue  # refused before the reader runs
        gold = texts.gold(item) if item.answerable else []
        cands = qa.reader_candidates(item.question, list(item.history) or None,
                                     settings=settings)
        out.append({
            "id": item.id, "group": item.id.removeprefix(TWIN_PREFIX).rsplit("-", 1)[0]
            if item.id.startswith(TWIN_PREFIX) else item.id, "answerable": item.answerable,
            "rows": [list(c.features.values()) for c in cands],
            "labels": [label(c, gold, item.key_facts if item.answerable else ()) for c in cands],
            "names": list(cands[0].features) if cands else [],
        })
    return out


def fit(data: list[dict[str, Any]]) -> dict[str, Any]:
    from sklearn.linear_model import LogisticRegression

    rows = np.asarray([r for d in data for r in d["rows"]], dtype=np.float64)
    labels = np.asarray([y for d in data for y in d["labels"]])
    mean, scale = rows.mean(axis=0), rows.std(axis=0)
    scale[scale == 0] = 1.0
    # The sentences of one question compete (``fitting.listwise``: the target spreads over its
    # gold sentences); a slope and an intercept fitted on all sentences (Platt scaling) then
    # make the score a probability, for Π(1 − pᵢ) and the answer model.
    # The questions the sources cannot answer compete too, their target the "none of these"
    # option (``null``), weighed as the answer model weighs them (the twins together as much
    # as the real near misses), times NULL_WEIGHT.
    groups, null = [], []
    for d, weight in zip(data, _twin_weights(data), strict=True):
        y = np.asarray(d["labels"], dtype=np.float64)
        if d["rows"] and (y.sum() > 0 or not d["answerable"]):
            groups.append(((np.asarray(d["rows"], dtype=np.float64) - mean) / scale,
                           y / y.sum() if y.sum() else y))
            null.append(1.0 if d["answerable"] else NULL_WEIGHT * float(weight))
    direction = fitting.listwise(groups, C, null=null)
    platt = LogisticRegression(C=100.0, max_iter=2000).fit(
        (((rows - mean) / scale) @ direction)[:, None], labels
    )
    weights = direction * float(platt.coef_[0][0])
    bias = float(platt.intercept_[0])

    def probs(d: dict[str, Any]) -> np.ndarray:
        if not d["rows"]:
            return np.zeros(0)
        x = (np.asarray(d["rows"], dtype=np.float64) - mean) / scale
        return 1.0 / (1.0 + np.exp(-(x @ weights + bias)))

    per_item = [(d, probs(d)) for d in data]
    names = data[0]["names"] if data else []
    best_model: dict[str, Any] = {}
    best_score = -1e9
    for top_n in TOP_N:
        x, y = _answer_rows(per_item, names, top_n)
        a_mean, a_scale = x.mean(axis=0), x.std(axis=0)
        a_scale[a_scale == 0] = 1.0
        answer = LogisticRegression(C=1.0, max_iter=2000).fit(
            (x - a_mean) / a_scale, y, sample_weight=_twin_weights(data)
        )
        p_answer = answer.predict_proba((x - a_mean) / a_scale)[:, 1]
        grid = [0.0, *sorted(set(np.round(p_answer, 4)))]
        raw = [_decision_score(per_item, list(p_answer), float(t)) for t in grid]
        for threshold, score in zip(grid, fitting.smoothed(raw, SMOOTH), strict=True):
            if score > best_score:
                best_score = score
                best_model = {
                    "top_n": top_n, "abstain_threshold": float(threshold),
                    "answer_weights": [float(w) for w in answer.coef_[0]],
                    "answer_bias": float(answer.intercept_[0]),
                    "answer_mean": [float(v) for v in a_mean],
                    "answer_scale": [float(v) for v in a_scale],
                    "_p": list(p_answer),
                }
    ratio_f1 = fitting.smoothed([_quote_f1(per_item, r) for r in SECOND_RATIOS], RATIO_SMOOTH)
    second = SECOND_RATIOS[int(np.argmax(ratio_f1))]
    report = _decision_report(per_item, best_model.pop("_p"), best_model["abstain_threshold"])
    return {
        "features": names,
        "weights": [float(w) for w in weights], "bias": bias,
        "mean": [float(x) for x in mean], "scale": [float(x) for x in scale],
        **best_model, "second_ratio": second,
        "answer_features": list(ANSWER_FEATURES),
        "fitted_on": "evals/dataset.jsonl", "fitted_at": datetime.now(UTC).isoformat(),
        "rows": len(rows), "positives": int(labels.sum()),
        "dev_decision": report,
    }


def _twin_weights(data: list[dict[str, Any]]) -> np.ndarray:
    """Sample weights for the answer model: the twins together weigh as much as the dev
    split's own unanswerable questions, so the easy twins (a name the corpus never mentions)
    do not drown the real near misses (every word present, the asked detail absent)."""
    twins = [d["id"].startswith(TWIN_PREFIX) for d in data]
    real = sum(not d["answerable"] and not t for d, t in zip(data, twins, strict=True))
    share = real / sum(twins) if sum(twins) and real else 1.0
    return np.asarray([share if t else 1.0 for t in twins])


def _answer_rows(per_item: list[tuple[dict[str, Any], np.ndarray]], names: list[str],
                 top_n: int) -> tuple[np.ndarray, np.ndarray]:
    """Question-level rows (``answer_inputs``, as ``qa.ask`` computes them) and answerable
    labels."""
    context = [names.index(n) for n in ANSWER_CONTEXT]
    rows, labels = [], []
    for d, p in per_item:
        top = d["rows"][int(np.argmax(p))] if len(p) else None
        rows.append(answer_inputs([float(x) for x in p], top_n,
                                  [top[i] if top is not None else 0.0 for i in context]))
        labels.append(int(d["answerable"]))
    return np.asarray(rows, dtype=np.float64), np.asarray(labels)


def _decision_score(per_item: list[tuple[dict[str, Any], np.ndarray]],
                    p_answer: list[float], threshold: float) -> float:
    return _decision_figures(per_item, p_answer, threshold)["decision_score"]


def _decision_report(per_item: list[tuple[dict[str, Any], np.ndarray]],
                     p_answer: list[float], threshold: float) -> dict[str, float]:
    figures = _decision_figures(per_item, p_answer, threshold)
    return {key: round(value, 3) for key, value in figures.items()}


def _decision_figures(per_item: list[tuple[dict[str, Any], np.ndarray]],
                      p_answer: list[float], threshold: float) -> dict[str, float]:
    """How the decision does on the dev questions themselves. The near-miss twins only add
    training rows: they are easier than real near misses, and counting them would let the
    threshold trade real abstentions for twin ones."""
    top1, false_abstain, abstained, twins = [], [], [], []
    for (d, p), pa in zip(per_item, p_answer, strict=True):
        abstain = pa < threshold
        if d["id"].startswith(TWIN_PREFIX):
            twins.append(abstain)
        elif d["answerable"]:
            false_abstain.append(abstain)
            top1.append((not abstain) and bool(len(p)) and d["labels"][int(np.argmax(p))] == 1)
        else:
            abstained.append(abstain)
    figures = {
        "top1_gold_answered": float(np.mean(top1)) if top1 else 0.0,
        "false_abstention": float(np.mean(false_abstain)) if false_abstain else 0.0,
        "abstained_unanswerable": float(np.mean(abstained)) if abstained else 0.0,
        "abstained_twins": float(np.mean(twins)) if twins else 0.0,
    }
    # Right answers and right abstentions count alike, whatever the split's mix; a false
    # abstention costs once more (it loses an answer the sources hold).
    figures["decision_score"] = (figures["top1_gold_answered"] + figures["abstained_unanswerable"]
                                 - figures["false_abstention"])
    return figures


def _quote_f1(per_item: list[tuple[dict[str, Any], np.ndarray]], ratio: float) -> float:
    scores = []
    for d, p in per_item:
        if not d["answerable"] or not len(p) or not any(d["labels"]):
            continue
        order = np.argsort(-p)
        chosen = [i for i in order[:QUOTES] if p[i] >= ratio * p[order[0]]] or [order[0]]
        hits = sum(d["labels"][i] for i in chosen)
        precision, recall = hits / len(chosen), hits / sum(d["labels"])
        scores.append(0.0 if not hits else 2 * precision * recall / (precision + recall))
    return float(np.mean(scores)) if scores else 0.0


def evaluate(model: dict[str, Any], data: list[dict[str, Any]]) -> dict[str, float]:
    """Decision figures of a fitted model on items it may not have seen."""
    mean, scale = np.asarray(model["mean"]), np.asarray(model["scale"])
    weights = np.asarray(model["weights"])
    per_item = []
    for d in data:
        x = (np.asarray(d["rows"], dtype=np.float64) - mean) / scale if d["rows"] else None
        p = 1 / (1 + np.exp(-(x @ weights + model["bias"]))) if x is not None else np.zeros(0)
        per_item.append((d, p))
    x, _ = _answer_rows(per_item, model["features"], model["top_n"])
    z = ((x - np.asarray(model["answer_mean"])) / np.asarray(model["answer_scale"])
         ) @ np.asarray(model["answer_weights"]) + model["answer_bias"]
    return _decision_report(per_item, list(1 / (1 + np.exp(-z))), model["abstain_threshold"])


REPEATS = 4  # dealings of the questions into the folds, averaged


def cross_validate(data: list[dict[str, Any]], folds: int) -> dict[str, float]:
    """Mean held-out decision figures over ``folds`` folds of the questions, dealt
    ``REPEATS`` times: the abstention threshold is chosen on a few hundred questions, so with
    one dealing two runs of the same code differed by up to 0.02."""
    return fitting.fold_means([
        evaluate(fit(train), held) for r in range(REPEATS)
        # a question and its twins together
        for train, held in fitting.folds(data, folds, group=lambda d: d["group"], repeat=r)
    ])


def main(argv: Sequence[str] | None = None) -> int:
    p = fitting.parser("python -m evals.fit_reader", __doc__, MODEL_PATH, "the model")
    p.add_argument("--no-near-misses", action="store_true",
                   help="fit on the dev questions only, without their unanswerable twins")
    args = p.parse_args(argv)
    if fitting.refuses(args.dataset):
        return 2
    started = time.perf_counter()
    settings = qa.Settings.from_env()
    try:
        items = load_dataset(args.dataset)
        if not args.no_near_misses:
            corpus = " ".join(qa.source_text(d.source, settings=settings)
                              for d in qa.corpus_info(settings).documents)
            twins = near_misses(items, corpus)
            print(f"{len(twins)} near-miss twins of the dev questions added")
            items = [*items, *twins]
        data = collect(items, settings)
    except qa.QAError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    model = fit(data)
    args.out.write_text(json.dumps(model, indent=1) + "\n", encoding="utf-8")
    print(f"fitted on {model['rows']} sentences ({model['positives']} gold) of "
          f"{len(data)} questions in {time.perf_counter() - started:.1f} s -> {args.out}")
    for name, w in zip(model["features"], model["weights"], strict=True):
        print(f"  {name:<16} {w:+.3f}")
    print(f"  top_n={model['top_n']} abstain_threshold={model['abstain_threshold']:.4f} "
          f"second_ratio={model['second_ratio']}")
    print("  dev decision (in sample):", model["dev_decision"])
    if args.cv > 1:
        model["cross_validated"] = cross_validate(data, args.cv)
        args.out.write_text(json.dumps(model, indent=1) + "\n", encoding="utf-8")
        print(f"  dev decision ({args.cv}-fold cross-validated):", model["cross_validated"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
