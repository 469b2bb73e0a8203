"""Evaluation metrics: pure functions over offsets, strings and per-item records.

Spans are ``(source, start, end)`` character offsets into ``qa.source_text(source)``, so a
retrieved passage, a citation and a gold evidence string are compared by position, never by
fuzzy text matching. Every function here is deterministic and touches no model or index.
"""

from __future__ import annotations

import re
import statistics
import string
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import qa

RECALL_KS: tuple[int, ...] = (1, 3, 5)
CHAR_BUDGETS: tuple[int, ...] = (1000, 2000)
MIN_COVER = 0.5  # a passage must overlap at least this share of a gold span to cover it

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCT = str.maketrans("", "", string.punctuation + "\u2018\u2019\u201c\u201d\u2013\u2014")


@dataclass(frozen=True)
class Span:
    """A character range of one source document."""

    source: str
    start: int
    end: int

    def __len__(self) -> int:
        return max(0, self.end - self.start)


def locate(text: str, source: str, evidence: Iterable[str]) -> list[Span]:
    """Offsets of each evidence string (first occurrence) in ``text``; missing ones are dropped."""
    spans = []
    for quote in evidence:
        at = text.find(quote)
        if at >= 0:
            spans.append(Span(source, at, at + len(quote)))
    return spans


def overlap(a: Span, b: Span) -> int:
    """Characters two spans share (0 for different sources)."""
    if a.source != b.source:
        return 0
    return max(0, min(a.end, b.end) - max(a.start, b.start))


def covers(passage: Span, gold: Span, min_share: float = MIN_COVER) -> bool:
    """Whether ``passage`` overlaps at least ``min_share`` of ``gold`` (the coverage rule)."""
    return len(gold) > 0 and overlap(passage, gold) >= min_share * len(gold)


def within_budget(passages: Sequence[Span], budget: int) -> list[Span]:
    """The passages a reader sees in the first ``budget`` characters of their concatenation.

    Passages are read in rank order; the one that crosses the budget is cut to its part inside
    it, so a long first chunk cannot cover evidence that lies beyond the budget.
    """
    seen: list[Span] = []
    used = 0
    for p in passages:
        if used >= budget:
            break
        take = min(len(p), budget - used)
        seen.append(Span(p.source, p.start, p.start + take))
        used += take
    return seen


def recall(passages: Sequence[Span], gold: Sequence[Span]) -> float | None:
    """Share of gold spans covered by some passage; None when there is no gold evidence."""
    if not gold:
        return None
    hit = sum(any(covers(p, g) for p in passages) for g in gold)
    return hit / len(gold)


def recall_at_k(passages: Sequence[Span], gold: Sequence[Span], k: int) -> float | None:
    """Gold recall of the ``k`` best passages."""
    return recall(passages[:k], gold)


def recall_at_chars(passages: Sequence[Span], gold: Sequence[Span], budget: int) -> float | None:
    """Gold recall of the first ``budget`` characters of retrieved text (see within_budget)."""
    return recall(within_budget(passages, budget), gold)


def reciprocal_rank(passages: Sequence[Span], gold: Sequence[Span]) -> float | None:
    """1/rank of the first passage covering any gold span; 0 if none does, None without gold."""
    if not gold:
        return None
    for rank, p in enumerate(passages, start=1):
        if any(covers(p, g) for g in gold):
            return 1.0 / rank
    return 0.0


def strip_markers(text: str) -> str:
    """Remove citation markers ``[n]`` from an answer (``qa.strip_markers``)."""
    return qa.strip_markers(text)


def normalize(text: str) -> str:
    """SQuAD normalisation: lower case, no punctuation, no articles, single spaces."""
    text = strip_markers(text).lower().translate(_PUNCT)
    return " ".join(_ARTICLES.sub(" ", text).split())


def token_f1(prediction: str, reference: str) -> float:
    """SQuAD token F1 between an answer and the reference answer (markers stripped)."""
    pred = normalize(prediction).split()
    ref = normalize(reference).split()
    if not pred or not ref:
        return float(pred == ref)
    common = sum((Counter(pred) & Counter(ref)).values())
    if common == 0:
        return 0.0
    precision, rec = common / len(pred), common / len(ref)
    return 2 * precision * rec / (precision + rec)


def _fold(text: str) -> str:
    return " ".join(text.replace("\u2019", "'").replace("\u2018", "'").lower().split())


def has_key_fact(text: str, key_facts: Iterable[str]) -> bool:
    """Whether any key fact appears in the text (case- and whitespace-insensitive substring)."""
    folded = _fold(strip_markers(text))
    return any(_fold(fact) in folded for fact in key_facts)


def is_accurate(text: str, abstained: bool, key_facts: Iterable[str]) -> bool:
    """An answerable item is answered when the bot did not abstain and named a key fact."""
    return not abstained and has_key_fact(text, key_facts)


def citation_recall(citations: Sequence[Span], gold: Sequence[Span]) -> float | None:
    """1.0 when at least one citation overlaps gold evidence (ALCE-style); None without gold."""
    if not gold:
        return None
    return float(any(overlap(c, g) > 0 for c in citations for g in gold))


def citation_precision(citations: Sequence[Span], gold: Sequence[Span]) -> float | None:
    """Share of citations that overlap gold evidence; None without citations or gold."""
    if not citations or not gold:
        return None
    return sum(any(overlap(c, g) > 0 for g in gold) for c in citations) / len(citations)


def offset_valid(source_text: str, start: int, end: int, quote: str) -> bool:
    """The citation contract: ``source_text[start:end] == quote``."""
    return 0 <= start <= end <= len(source_text) and source_text[start:end] == quote


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q``-th percentile (``q`` in 0-100) of ``values``; None for no values.

    The one definition every figure in ``evals/`` uses (the evaluation report, the benchmark,
    the load test): linear interpolation between the two nearest ranks, i.e. the value at
    position ``(n - 1) * q / 100`` of the sorted values (NumPy's default ``"linear"`` method,
    Excel's ``PERCENTILE.INC``). So p50 is the median, and p95 of 20 values lies between the
    19th and the 20th."""
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def mean(values: Iterable[float | None]) -> float | None:
    """Mean of the defined values; None when none is defined (metric not applicable)."""
    defined = [float(v) for v in values if v is not None]
    return sum(defined) / len(defined) if defined else None


def median(values: Iterable[float | None]) -> float | None:
    defined = [float(v) for v in values if v is not None]
    return statistics.median(defined) if defined else None


# Direction of each aggregate metric: +1 higher is better, -1 lower is better, 0 neutral.
DIRECTION: dict[str, int] = {
    **{f"recall@{k}": 1 for k in RECALL_KS},
    **{f"recall@{b}c": 1 for b in CHAR_BUDGETS},
    "mrr": 1,
    "accuracy": 1,
    "token_f1": 1,
    "short_f1": 1,
    "success": 1,
    "length_median": 0,
    "length_mean": 0,
    "citation_recall": 1,
    "citation_precision": 1,
    "offset_validity": 1,
    "abstention_accuracy": 1,
    "false_abstention_rate": -1,
    "faithfulness": 1,
    "errors": -1,
    "latency_p50": -1,
    "latency_p95": -1,
    "baseline_search_p50": -1,
    "latency_ratio": -1,
}


def aggregate(records: Sequence[Mapping[str, object]]) -> dict[str, float | int | None]:
    """Aggregate per-item scores of one system into metrics (None when not applicable).

    Each record holds ``answerable`` and ``expect_abstain`` flags and the per-item scores
    written by the runner: ``recall@k``/``recall@Bc``/``rr`` (None without gold), ``abstained``,
    ``accurate``, ``f1``, ``length``, ``citation_recall``/``citation_precision`` (None when not
    applicable), ``citations_valid``/``citations`` counts, ``faithfulness`` (float or None) and
    ``error`` (str or None). Answer and citation metrics cover answerable items; citation metrics
    only those answered (not abstained), as in ALCE.
    """
    answerable = [r for r in records if r["answerable"]]
    answered = [r for r in answerable if not r["abstained"]]
    abstain = [r for r in records if r["expect_abstain"]]
    out: dict[str, float | int | None] = {"n": len(records)}
    for k in RECALL_KS:
        out[f"recall@{k}"] = mean(_f(r, f"recall@{k}") for r in answerable)
    for b in CHAR_BUDGETS:
        out[f"recall@{b}c"] = mean(_f(r, f"recall@{b}c") for r in answerable)
    out["mrr"] = mean(_f(r, "rr") for r in answerable)
    out["accuracy"] = mean(float(bool(r["accurate"])) for r in answerable)
    out["token_f1"] = mean(_f(r, "f1") for r in answerable)
    out["short_f1"] = mean(_f(r, "f1_short") for r in answerable)
    out["success"] = mean(float(bool(r["success"])) for r in records)
    lengths = [_f(r, "length") for r in answered]
    out["length_median"] = median(lengths)
    out["length_mean"] = mean(lengths)
    out["citation_recall"] = mean(_f(r, "citation_recall") for r in answered)
    out["citation_precision"] = mean(_f(r, "citation_precision") for r in answered)
    total = sum(int(r["citations"]) for r in records)  # type: ignore[call-overload]
    valid = sum(int(r["citations_valid"]) for r in records)  # type: ignore[call-overload]
    out["offset_validity"] = valid / total if total else None
    out["abstention_accuracy"] = mean(float(bool(r["abstained"])) for r in abstain)
    out["false_abstention_rate"] = mean(float(bool(r["abstained"])) for r in answerable)
    out["faithfulness"] = mean(_f(r, "faithfulness") for r in answered)
    out["errors"] = sum(1 for r in records if r.get("error"))
    return out


def _f(record: Mapping[str, object], key: str) -> float | None:
    value = record.get(key)
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def latency(
    ask_seconds: Sequence[float], baseline_seconds: Sequence[float]
) -> dict[str, float | None]:
    """qa.ask p50/p95, the baseline's search p50 and how many times slower qa.ask is."""
    p50 = percentile(ask_seconds, 50)
    base = percentile(baseline_seconds, 50)
    return {
        "latency_p50": p50,
        "latency_p95": percentile(ask_seconds, 95),
        "baseline_search_p50": base,
        "latency_ratio": p50 / base if p50 is not None and base else None,
    }


@dataclass(frozen=True)
class Change:
    """How one metric moved between two runs."""

    name: str
    old: float
    new: float
    direction: int

    @property
    def delta(self) -> float:
        return self.new - self.old

    @property
    def verdict(self) -> str:
        if abs(self.delta) < 1e-9:
            return "same"
        if self.direction == 0:
            return "changed"
        return "improved" if self.delta * self.direction > 0 else "regressed"


def compare(old: Mapping[str, object], new: Mapping[str, object]) -> list[Change]:
    """Metric-by-metric changes between two flat metric maps (numeric values in both only)."""
    changes = []
    for name, new_value in new.items():
        old_value = old.get(name)
        if not _numeric(new_value) or not _numeric(old_value):
            continue
        base = name.rsplit(".", 1)[-1]
        changes.append(Change(name, float(old_value), float(new_value), DIRECTION.get(base, 0)))  # type: ignore[arg-type]
    return changes


def _numeric(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def format_changes(changes: Sequence[Change]) -> str:
    """Improvements, then regressions, then unchanged count, one metric a line with its delta."""
    lines: list[str] = []
    for verdict in ("improved", "regressed", "changed"):
        group = [c for c in changes if c.verdict == verdict]
        if not group:
            continue
        lines.append(f"{verdict} ({len(group)}):")
        for c in group:
            lines.append(f"  {c.name:<40} {c.old:>10.4g} -> {c.new:<10.4g} ({c.delta:+.4g})")
    same = sum(c.verdict == "same" for c in changes)
    lines.append(f"unchanged: {same} metric(s)")
    return "\n".join(lines)
