"""Questions for the part of a document that says something ("Which section of the order holds
its definitions?", "Under which heading does the outlook discuss Samsung?"), and questions
about a division named by its number ("What does sec 9544 do?", "Heading of Sec. 6?").

For the first kind the reader finds the sentence as for any question; the answer is then the
division that sentence sits in, cited where the document writes it: the nearest numbered
division heading before it ("Sec. 7.  Definitions.", "§ 9547. Termination"), else the heading
of its section. A division the sentence itself names ("the assessment required by §1241") is
left to the ordinary short answer. For the second kind, when the question asks nothing but
what the division is, says or is called, its heading answers (its title the short answer),
followed by the reader's best sentence inside it.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from qa.models import Answer, Citation, Passage
from qa.retrieval.analysis import QuestionAnalysis
from qa.retrieval.divisions import (
    DIVISION_NOUNS,
    NAMED_IN_TEXT,
    Division,
    division_at,
    divisions_of,
    readable_text,
)

if TYPE_CHECKING:
    from qa.index.opened import OpenedIndex
    from qa.retrieval.questions import PreparedQuestion

_ASKS = re.compile(
    rf"\b(?:which|what)\s+(?:\w+\s+)?(?:{'|'.join(sorted(DIVISION_NOUNS))})s?\b", re.IGNORECASE
)
def asks_division(analysis: QuestionAnalysis) -> bool:
    """"Which section …", "In which part …", "Under which heading …": the question asks
    for a division of a document, not for what it says."""
    return _ASKS.search(analysis.question) is not None


def division_answer(
    index: OpenedIndex, prepared: PreparedQuestion, found: Citation, said: str,
    passages: list[Passage],
) -> Answer | None:
    """For a question that ``asks_division``: the division ``found`` (the reader's best
    quote, ``said`` as the answer shows it) sits in, cited first, then ``found``; None when
    the quote names one itself (a span of it answers) or its document marks none there."""
    if NAMED_IN_TEXT.search(found.quote):
        return None
    text = index.source_text(found.source)
    heading = _division_before(found.source, text, found.start) or _section_heading(text, found)
    if heading is None:
        return None
    start, end, short = heading
    cited = Citation(source=found.source, title=found.title, section=found.section,
                     quote=text[start:end], start=start, end=end, date=found.date)
    shown = " ".join(cited.quote.split())
    lead = f"{short} [1]" if short == shown else f"{short}, “{shown}” [1]"
    return Answer(
        text=f"{lead}: {said} [2]",
        abstained=False, citations=[cited, found], passages=passages, query=prepared.query,
        backend="extractive", notice=prepared.notice, short=short,
    )


def _division_before(source: str, text: str, position: int) -> tuple[int, int, str] | None:
    """The last numbered division heading at or before ``position``: its line and label."""
    last = division_at(source, text, position)
    return (last.start, last.heading_end, last.label) if last is not None else None


def _section_heading(text: str, found: Citation) -> tuple[int, int, str] | None:
    """The quote's section heading where the document writes it (the last time before the
    quote, else the first time after: a capture may list its headings at the end)."""
    heading = (found.section or "").strip()
    if not heading:
        return None
    at = text.rfind(heading, 0, found.start)
    if at < 0:
        at = text.find(heading)
    if at < 0:
        return None
    return at, at + len(heading), heading


def defined_division_answer(
    index: OpenedIndex, prepared: PreparedQuestion, division: Division,
    inside: tuple[Citation, str] | None, passages: list[Passage], *, by_title: bool = False,
) -> Answer:
    """The heading of ``division`` cited first (its title the short answer, or its label
    when the question gave the title), then ``inside`` (the reader's best quote within it,
    as the answer shows it) when there is one."""
    text = index.source_text(division.source)
    meta = index.documents().get(division.source, {})
    heading = Citation(
        source=division.source, title=str(meta.get("title", division.source)), section=None,
        quote=text[division.start : division.heading_end], start=division.start,
        end=division.heading_end, date=meta.get("date") or None,
    )
    shown = " ".join(heading.quote.split())
    short = division.label if by_title or not division.title else division.title
    if inside is None:
        cited, body = [heading], f"{shown} [1]"
    elif inside[0].start < division.heading_end and short in " ".join(inside[0].quote.split()):
        # (the best quote is the heading's own sentence, "Sec. 8.  Severability.  If any …")
        cited, body = [inside[0]], f"{inside[1]} [1]"
    else:
        cited, body = [heading, inside[0]], f"{shown} [1]: {inside[1]} [2]"
    return Answer(
        text=body, abstained=False, citations=cited, passages=passages, query=prepared.query,
        backend="extractive", notice=prepared.notice, short=short,
    )


_QUOTED = re.compile(r"[\"“‘']([^\"“”‘’']{3,200})[\"”’']")


def titled_division(
    index: OpenedIndex, analysis: QuestionAnalysis, sources: list[str]
) -> Division | None:
    """"Which section is titled 'Exceptions, waiver, and termination'?": the division of
    ``sources`` whose title the question quotes, when it asks for a division."""
    if not asks_division(analysis):
        return None
    quoted = {" ".join(q.lower().split()).rstrip(".") for q in _QUOTED.findall(analysis.question)}
    if not quoted:
        return None
    texts = {s: text for s in sources if (text := readable_text(index, s)) is not None}
    found = [d for s, text in texts.items() for d in divisions_of(s, text)
             if d.title.lower() in quoted]
    return found[0] if len(found) == 1 else None
