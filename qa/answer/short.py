"""The minimal answer: a name, figure, date or short phrase, verbatim from the best quote.

Candidates are the sentence's named entities (stored at index time) of the type the question
expects; the words of the question itself are never the answer, and among the rest the one
nearest in the dependency parse to the question's words in the sentence wins. Why/how, list,
comparison, yes/no and open "what" questions get no short answer: the quotes are the answer.
"""

from __future__ import annotations

import functools
from typing import Any

from qa.index.lexical import tokenize
from qa.ingest.linguistics import nlp
from qa.retrieval.analysis import (
    COMPARISON,
    DESCRIPTION,
    LIST,
    NUMBER,
    REASON,
    YESNO,
    QuestionAnalysis,
)

NO_SHORT = frozenset({REASON, COMPARISON, YESNO, LIST, DESCRIPTION})


def short_answer(
    analysis: QuestionAnalysis,
    text: str,
    entities: tuple[tuple[str, int, int], ...],
) -> str | None:
    """A span of ``text`` that answers on its own, or None (why/how/list questions)."""
    if analysis.answer_type in NO_SHORT or (analysis.wh == "how" and not analysis.labels):
        return None
    asked = set(tokenize(" ".join(analysis.content)))
    labels = analysis.labels
    spans: list[tuple[int, int]] = []
    if labels:
        spans = [(a, b) for label, a, b in entities if label in labels and _new(text[a:b], asked)]
        if analysis.answer_type == NUMBER and analysis.counted:
            spans = _counted_first(text, spans, analysis.counted) or spans
    if not spans:
        return None
    a, b = _nearest(analysis, text, spans)
    return text[a:b].strip(" ,;:.") or None


@functools.lru_cache(maxsize=1024)
def _parse(text: str) -> Any:
    return nlp()(text)


def _nearest(
    analysis: QuestionAnalysis, text: str, spans: list[tuple[int, int]]
) -> tuple[int, int]:
    """The span closest in the dependency tree to the question's own words in the sentence
    (in "the appointment of Keith Kellogg, adviser to Mike Pence, as envoy" the envoy is
    Kellogg, two arcs from "envoy", not Pence, five arcs away); earlier wins a tie. The one
    sentence quoted first is parsed here, once, only when there is a choice to make."""
    if len(spans) == 1:
        return spans[0]
    doc = _parse(text)
    lemmas = set(analysis.content)
    inside = {i for a, b in spans for i in range(a, b)}
    anchors = [t for t in doc if t.lemma_.lower() in lemmas and t.idx not in inside]
    if not anchors:
        return spans[0]

    def distance(span: tuple[int, int]) -> tuple[int, int]:
        chunk = doc.char_span(span[0], span[1], alignment_mode="expand")
        if chunk is None:
            return (99, span[0])
        return (min(_arcs(chunk.root, t) for t in anchors), span[0])

    return min(spans, key=distance)


def _arcs(a: Any, b: Any) -> int:
    """Arcs between two tokens of one parse (through their lowest common ancestor)."""
    up = {a.i: 0}
    for depth, t in enumerate(a.ancestors, start=1):
        up[t.i] = depth
    if b.i in up:
        return up[b.i]
    for depth, t in enumerate(b.ancestors, start=1):
        if t.i in up:
            return depth + up[t.i]
    return 99


def _new(span: str, asked: set[str]) -> bool:
    """The span says something the question does not already say."""
    words = set(tokenize(span))
    return bool(words) and not words <= asked


def _counted_first(
    text: str, spans: list[tuple[int, int]], counted: str
) -> list[tuple[int, int]]:
    """Figures that count the asked-for noun ("11,000 troops" for "how many troops")."""
    noun = counted.lower()[:5]
    out = []
    for a, b in spans:
        after = text[b : b + 40].lower()
        if noun and noun in after:
            out.append((a, b))
    return out
