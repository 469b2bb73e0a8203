"""Run the dataset through qa's public API and the naive baseline; score every item.

Only the public API is used: ``qa.ask`` (with history for follow-ups) for answers and latency,
``qa.retrieve`` on the query qa actually searched (``Answer.query``) for retrieval metrics,
``qa.source_text`` to turn evidence strings and citations into offsets.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import qa
from evals import metrics as m
from evals.baseline import Hit, NaiveBaseline
from evals.dataset import TYPES, EvalItem
from evals.judge import ERROR, NOT_RUN, Judge

DEPTH = 10  # passages fetched for retrieval metrics: enough to fill the 2,000-char budget
SNIPPET = 160


def select(
    items: Sequence[EvalItem], types: Iterable[str] | None = None, limit: int | None = None
) -> list[EvalItem]:
    """Items of the given types (all when None), the first ``limit`` of them, in file order."""
    wanted = set(types) if types else None
    chosen = [i for i in items if wanted is None or i.type in wanted]
    return chosen[:limit] if limit is not None else chosen


def first_per_type(items: Sequence[EvalItem], n: int) -> list[EvalItem]:
    """The first ``n`` items of each type: a small, deterministic subset covering every type."""
    counts: dict[str, int] = {}
    chosen = []
    for item in items:
        if counts.get(item.type, 0) < n:
            counts[item.type] = counts.get(item.type, 0) + 1
            chosen.append(item)
    return chosen


class Texts:
    """Cached ``qa.source_text`` lookups for one corpus."""

    def __init__(self, settings: qa.Settings) -> None:
        self.settings = settings
        self._cache: dict[str, str] = {}

    def __call__(self, source: str) -> str:
        if source not in self._cache:
            self._cache[source] = qa.source_text(source, settings=self.settings)
        return self._cache[source]

    def gold(self, item: EvalItem) -> list[m.Span]:
        if not item.source:
            return []
        return m.locate(self(item.source), item.source, item.evidence)


def _snippets(spans: Sequence[tuple[m.Span, str]], limit: int = 3) -> list[dict[str, Any]]:
    return [
        {
            "source": s.source,
            "start": s.start,
            "end": s.end,
            "snippet": " ".join(t.split())[:SNIPPET],
        }
        for s, t in spans[:limit]
    ]


def _retrieval_scores(passages: Sequence[m.Span], gold: Sequence[m.Span]) -> dict[str, Any]:
    scores: dict[str, Any] = {f"recall@{k}": m.recall_at_k(passages, gold, k) for k in m.RECALL_KS}
    for b in m.CHAR_BUDGETS:
        scores[f"recall@{b}c"] = m.recall_at_chars(passages, gold, b)
    scores["rr"] = m.reciprocal_rank(passages, gold)
    return scores


def _answer_scores(
    item: EvalItem, text: str, abstained: bool, citations: Sequence[m.Span],
    gold: Sequence[m.Span], short: str | None = None,
) -> dict[str, Any]:
    accurate = item.answerable and m.is_accurate(text, abstained, item.key_facts)
    answered = item.answerable and not abstained
    return {
        "answerable": item.answerable,
        "expect_abstain": item.expect_abstain,
        "abstained": abstained,
        "accurate": accurate,
        "success": abstained if item.expect_abstain else accurate,
        "f1": m.token_f1(text, item.answer) if item.answerable and item.answer else None,
        # The short answer against the minimal reference span; a system without a short
        # answer is scored on its whole text (abstaining scores 0).
        "f1_short": (
            0.0 if abstained else m.token_f1(short or m.strip_markers(text), item.answer_short)
        ) if item.answerable and item.answer_short else None,
        "length": len(m.strip_markers(text).strip()),
        "citation_recall": m.citation_recall(citations, gold) if answered else None,
        "citation_precision": m.citation_precision(citations, gold) if answered else None,
    }


def score_qa(
    item: EvalItem,
    settings: qa.Settings,
    texts: Texts,
    *,
    backend: str | None = None,
    k: int | None = None,
    depth: int = DEPTH,
    judge: Judge | None = None,
) -> dict[str, Any]:
    """Ask qa one item (timed), retrieve ``depth`` passages for its query, score both."""
    gold = texts.gold(item)
    error = None
    started = time.perf_counter()
    try:
        answer = qa.ask(
            item.question, list(item.history) or None, backend=backend, k=k, settings=settings
        )
    except qa.QAError as exc:
        answer, error = None, f"{type(exc).__name__}: {exc}"
    seconds = time.perf_counter() - started
    query = answer.query if answer is not None and answer.query else item.question
    try:
        passages = qa.retrieve(query, k=depth, settings=settings)
    except qa.QAError as exc:
        passages, error = [], error or f"{type(exc).__name__}: {exc}"
    spans = [m.Span(p.source, p.start, p.end) for p in passages]
    text = answer.text if answer is not None else ""
    abstained = answer.abstained if answer is not None else False
    cites = answer.citations if answer is not None else []
    cite_spans = [m.Span(c.source, c.start, c.end) for c in cites]
    valid = sum(m.offset_valid(texts(c.source), c.start, c.end, c.quote) for c in cites)
    record: dict[str, Any] = {
        **_answer_scores(item, text, abstained, cite_spans, gold,
                         answer.short if answer is not None else None),
        **(_retrieval_scores(spans, gold) if gold else {}),
        "answer": text,
        "short": answer.short if answer is not None else None,
        "query": query,
        "citations": len(cites),
        "citations_valid": valid,
        "cited": [{"source": c.source, "start": c.start, "end": c.end} for c in cites],
        "retrieved": _snippets([(s, p.text) for s, p in zip(spans, passages, strict=True)]),
        "seconds": seconds,
        "error": error,
        "faithfulness": None,
    }
    if judge is not None and not abstained and answer is not None:
        record["faithfulness"] = judge.faithfulness(text, [c.quote for c in cites])
    return record


def score_baseline(
    item: EvalItem, baseline: NaiveBaseline, texts: Texts, *, depth: int = DEPTH
) -> dict[str, Any]:
    """Search the baseline with the raw question (timed); its answer is the top chunk."""
    gold = texts.gold(item)
    started = time.perf_counter()
    hits: list[Hit] = baseline.search(item.question, depth)
    seconds = time.perf_counter() - started
    spans = [m.Span(h.source, h.start, h.end) for h in hits]
    top = hits[0].text if hits else ""
    cites = spans[:1]
    valid = sum(m.offset_valid(texts(h.source), h.start, h.end, h.text) for h in hits[:1])
    return {
        **_answer_scores(item, top, False, cites, gold),
        **(_retrieval_scores(spans, gold) if gold else {}),
        "answer": top,
        "citations": len(cites),
        "citations_valid": valid,
        "retrieved": _snippets([(s, h.text) for s, h in zip(spans, hits, strict=True)]),
        "seconds": seconds,
        "error": None,
        "faithfulness": None,
    }


@dataclass(kw_only=True)
class RunResult:
    """Per-item records and aggregate metrics of one run."""

    meta: dict[str, Any]
    records: list[dict[str, Any]] = field(default_factory=list)
    metrics: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"meta": self.meta, "metrics": self.metrics, "items": self.records}


def build_baseline(settings: qa.Settings, texts: Texts) -> NaiveBaseline:
    """The naive baseline over exactly the documents qa indexed."""
    sources = [d.source for d in qa.corpus_info(settings).documents]
    return NaiveBaseline({s: texts(s) for s in sources})


def run(
    items: Sequence[EvalItem],
    settings: qa.Settings,
    *,
    backend: str | None = None,
    k: int | None = None,
    depth: int = DEPTH,
    with_baseline: bool = True,
    judge: Judge | None = None,
    progress: bool = True,
    log: Callable[[str], None] = lambda _: None,
) -> RunResult:
    """Evaluate ``items`` with qa (and the baseline), after one warm-up query each."""
    texts = Texts(settings)
    depth = max(depth, k or 0)
    log("warming up qa (builds or refreshes the index if needed)")
    qa.ask("What is this corpus about?", backend=backend, k=k, settings=settings)
    baseline = None
    if with_baseline:
        log("building the naive LangChain baseline index")
        baseline = build_baseline(settings, texts)
        baseline.search("What is this corpus about?", depth)
    records = []
    try:
        iterator: Iterable[EvalItem] = items
        if progress:
            from tqdm import tqdm

            iterator = tqdm(items, desc="evaluating", unit="q")
        for item in iterator:
            record: dict[str, Any] = {
                "id": item.id,
                "type": item.type,
                "question": item.question,
                "history": [list(t) for t in item.history],
                "expected": list(item.key_facts),
                "reference": item.answer,
                "source": item.source,
                "qa": score_qa(
                    item, settings, texts, backend=backend, k=k, depth=depth, judge=judge
                ),
            }
            if baseline is not None:
                record["baseline"] = score_baseline(item, baseline, texts, depth=depth)
            records.append(record)
    finally:
        chunks = baseline.chunks if baseline is not None else None
        build = baseline.build_seconds if baseline is not None else None
        if baseline is not None:
            baseline.close()
    meta = {
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "items": len(records),
        "types": sorted({r["type"] for r in records}, key=TYPES.index),
        "backend": backend or settings.answer_backend,
        "k": k or settings.top_k,
        "depth": depth,
        "corpus_dir": str(settings.corpus_dir),
        "judge": judge.model if judge is not None else NOT_RUN,
        "baseline": {"chunks": chunks, "build_seconds": build} if with_baseline else None,
    }
    result = RunResult(meta=meta, records=records)
    result.metrics = compute_metrics(records, judged=judge is not None)
    return result


def _system_metrics(records: Sequence[dict[str, Any]], key: str, judged: bool) -> dict[str, Any]:
    rows = [r[key] for r in records if key in r]
    overall: dict[str, Any] = dict(m.aggregate(rows))
    by_type: dict[str, Any] = {}
    for type_ in TYPES:
        subset = [r[key] for r in records if r["type"] == type_ and key in r]
        if subset:
            by_type[type_] = m.aggregate(subset)
    errors = sum(1 for r in rows if r.get("faithfulness") == ERROR)
    overall["faithfulness_errors"] = errors if judged and key == "qa" else None
    if not judged or key != "qa":  # the baseline is not judged: it quotes its chunk verbatim
        for values in (overall, *by_type.values()):
            values["faithfulness"] = NOT_RUN
    return {"overall": overall, "by_type": by_type}


def compute_metrics(records: Sequence[dict[str, Any]], *, judged: bool = False) -> dict[str, Any]:
    """Aggregate metrics of qa and (when present) the baseline, overall and by type."""
    out: dict[str, Any] = {"qa": _system_metrics(records, "qa", judged)}
    ask = [r["qa"]["seconds"] for r in records]
    base = [r["baseline"]["seconds"] for r in records if "baseline" in r]
    out["qa"]["overall"].update(m.latency(ask, base))
    if base:
        out["baseline"] = _system_metrics(records, "baseline", judged)
        out["baseline"]["overall"].update(
            latency_p50=m.percentile(base, 50), latency_p95=m.percentile(base, 95)
        )
    return out


def flatten(metrics: dict[str, Any]) -> dict[str, Any]:
    """qa's overall metrics and per-type success, as flat names for ``--compare``."""
    qa_metrics = metrics.get("qa", {})
    flat = {f"overall.{k}": v for k, v in qa_metrics.get("overall", {}).items()}
    for type_, values in qa_metrics.get("by_type", {}).items():
        for name in ("success", "token_f1", "recall@2000c"):
            flat[f"{type_}.{name}"] = values.get(name)
    return flat


def worst_failures(records: Sequence[dict[str, Any]], n: int = 10) -> list[dict[str, Any]]:
    """Up to ``n`` items qa got wrong, lowest token F1 first (wrong non-abstentions count 0)."""
    failed = [r for r in records if not r["qa"]["success"]]
    return sorted(failed, key=lambda r: (r["qa"]["f1"] or 0.0, r["id"]))[:n]
