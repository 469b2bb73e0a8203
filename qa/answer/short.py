"""The minimal answer: a name, figure, date or short phrase, verbatim from the best quote.

Candidates are the sentence's named entities (stored at index time) of the type the question
expects; the words of the question itself are never the answer, and among the rest the span
nearest to where the question's words occur wins. Why/how, list, comparison, yes/no and open
"what" questions get no short answer: their answer is the quoted sentences.
"""

from __future__ import annotations

import re

from qa.index.lexical import tokenize
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
MAX_PHRASE_WORDS = 8


def short_answer(
    analysis: QuestionAnalysis,
    text: str,
    entities: tuple[tuple[str, int, int], ...],
    phrases: tuple[tuple[int, int], ...] = (),
) -> str | None:
    """A span of ``text`` that answers on its own, or None (why/how/list questions)."""
    if analysis.answer_type in NO_SHORT or (analysis.wh == "how" and not analysis.labels):
        return None
    asked = set(tokenize(" ".join(analysis.content)))
    anchors = [m.start() for w in asked for m in re.finditer(re.escape(w), text.lower())]
    labels = analysis.labels
    spans: list[tuple[int, int]] = []
    if labels:
        spans = [(a, b) for label, a, b in entities if label in labels and _new(text[a:b], asked)]
        if analysis.answer_type == NUMBER and analysis.counted:
            spans = _counted_first(text, spans, analysis.counted) or spans
    elif phrases:  # an open type noun ("what tool"): the nearest new noun phrase
        spans = [
            (a, b) for a, b in phrases
            if _new(text[a:b], asked) and len(text[a:b].split()) <= MAX_PHRASE_WORDS
        ]
    if not spans:
        return None
    def distance(span: tuple[int, int]) -> int:
        return min((abs(span[0] - x) for x in anchors), default=span[0])
    a, b = min(spans, key=distance)
    return text[a:b].strip(" ,;:.") or None


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
