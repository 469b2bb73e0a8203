"""Questions for the part of a document that says something ("Which section of the order holds
its definitions?", "Under which heading does the outlook discuss Samsung?").

The reader finds the sentence as for any question; the answer is then the division that
sentence sits in, cited where the document writes it: the nearest numbered division heading
before it ("Sec. 7.  Definitions.", "§ 9547. Termination"), else the heading of its section.
A division the sentence itself names ("the assessment required by §1241") is left to the
ordinary short answer.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from qa.models import Answer, Citation, Passage
from qa.retrieval.analysis import QuestionAnalysis

if TYPE_CHECKING:
    from qa.index.opened import OpenedIndex
    from qa.retrieval.questions import PreparedQuestion

# The nouns English names a document's divisions by (a closed class).
DIVISION_NOUNS = frozenset(
    {"section", "subsection", "part", "heading", "chapter", "subchapter", "article"}
)
_ASKS = re.compile(
    rf"\b(?:which|what)\s+(?:\w+\s+)?(?:{'|'.join(sorted(DIVISION_NOUNS))})s?\b", re.IGNORECASE
)
# A numbered division as legal texts label it: "Sec. 7", "Section 1", "§ 9547".
_LABEL = r"(?:\b[Ss]ec(?:tion)?\.?\s*|§+\s*)\d+[A-Za-z]?"
# ... heading a line (after any Markdown heading marks), up to the end of its title:
# "Sec. 8.  Severability."
_NUMBERED = re.compile(rf"(?m)^[ \t#]*(?P<line>(?P<label>{_LABEL})\b\.?(?:[ \t]+[^.\n]*\.?)?)")
_NAMED_IN_TEXT = re.compile(_LABEL)


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
    if _NAMED_IN_TEXT.search(found.quote):
        return None
    text = index.source_text(found.source)
    heading = _division_before(text, found.start) or _section_heading(text, found)
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


def _division_before(text: str, position: int) -> tuple[int, int, str] | None:
    """The last numbered division heading at or before ``position``: its line and label."""
    last = None
    for m in _NUMBERED.finditer(text):
        if m.start("line") > position:
            break
        last = m
    if last is None:
        return None
    line = last.group("line").rstrip()
    return last.start("line"), last.start("line") + len(line), last.group("label")


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
