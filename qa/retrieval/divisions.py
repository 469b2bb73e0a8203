"""Numbered divisions of a document and the questions that name one.

Legal texts head their divisions with a label and a title on a line of their own ("§ 9544.
Report on media organizations …", "Sec. 8.  Severability."), and readers ask for them by
label: "what does sec 9544 do?", "heading of Sec. 6 in the order?". A chunk's embedding and
its BM25 terms hold its body, not the label of the division it sits in, so such a question
finds the division by its label here. A question that asks only what the division is, says
or is called reads its passages first (``qa.retrieval.hybrid``) and is answered by its heading
(``qa.answer.divisions``); any passage is about the division it sits in (``division_words``).
"""

from __future__ import annotations

import bisect
import functools
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from qa.errors import CorpusError
from qa.index.lexical import tokenize
from qa.retrieval.analysis import FRAMING_NOUNS, QuestionAnalysis

if TYPE_CHECKING:
    from qa.index.opened import OpenedIndex

# The nouns English names a document's divisions by (a closed class).
DIVISION_NOUNS = frozenset(
    {"section", "subsection", "part", "heading", "chapter", "subchapter", "article"}
)

# A numbered division as legal texts label it: "Sec. 7", "Section 1", "§ 9547".
LABEL = r"(?:\b[Ss]ec(?:tion)?\.?\s*|§+\s*)\d+[A-Za-z]?"
# ... opening a line (after any Markdown heading marks).
_HEADING = re.compile(rf"(?m)^[ \t]*(?P<marks>#*)[ \t]*(?P<label>{LABEL})\b\.?")
# The title after the label: a Markdown heading's whole line; else up to its full stop, which
# a hard-wrapped file may carry on to the next line ("Sec. 5.  Monitoring and\nRecommendations.").
_TITLE = re.compile(r"[ \t]*(?P<title>[^.\n]*(?:\n[ \t]*[^.\n\s][^.\n]*)?)\.?")
_LINE_TITLE = re.compile(r"[ \t]*(?P<title>[^\n]*)")
NAMED_IN_TEXT = re.compile(LABEL)
# A division as a question names it: "sec 9544", "§ 9545", "Section 8", "Sec. 9(c)".
_ASKED = re.compile(r"(?:\bsec(?:t|tion)?s?\.?\s*|§+\s*)(?P<number>\d+[a-z]?)\b", re.IGNORECASE)
_NUMBER = re.compile(r"\d+[A-Za-z]?")


@dataclass(frozen=True)
class Division:
    """A numbered division of one document: its heading line and where its text runs."""

    source: str
    start: int  # where its heading line begins
    heading_end: int  # where the heading (label and title) ends
    end: int  # where the next division begins, or the text ends
    label: str  # "§ 9544", "Sec. 8"
    title: str  # "Report on media organizations …", "Severability" ("" when none)
    number: str  # "9544", "8": as a question names it (lower case)


@functools.lru_cache(maxsize=64)
def divisions_of(source: str, text: str) -> tuple[Division, ...]:
    """Every numbered division heading of ``text``, in reading order (cached per text)."""
    found = list(_HEADING.finditer(text))
    out = []
    for n, m in enumerate(found):
        rest = (_LINE_TITLE if m.group("marks") else _TITLE).match(text, m.end())
        assert rest is not None  # both match the empty string
        title = " ".join(rest.group("title").split()).rstrip(" .")
        heading_end = rest.end("title") if title else m.end("label")
        heading_end += text.startswith(".", heading_end)
        end = found[n + 1].start("label") if n + 1 < len(found) else len(text)
        label = m.group("label")
        number = _NUMBER.search(label)
        out.append(Division(source, m.start("label"), heading_end, end, label, title,
                            number.group().lower() if number else ""))
    return tuple(out)


def division_at(source: str, text: str, position: int) -> Division | None:
    """The numbered division of ``text`` that ``position`` falls in (None before the first)."""
    found = divisions_of(source, text)
    at = bisect.bisect_right([d.start for d in found], position) - 1
    return found[at] if at >= 0 else None


def division_words(index: OpenedIndex, source: str, position: int) -> str:
    """The label and title of the division ``position`` of ``source`` falls in ("§ 9545
    Report on …"), or "": a passage of it is about "§ 9545" though its text never says so."""
    text = readable_text(index, source)
    division = division_at(source, text, position) if text is not None else None
    return f"{division.label} {division.title}" if division is not None else ""


def readable_text(index: OpenedIndex, source: str) -> str | None:
    """``source``'s indexed text, or None when there is none to read its divisions in (an
    index assembled from parts, a file gone: what cites the file says so; finding divisions
    only lacks its headings)."""
    try:
        return index.source_text(source)
    except CorpusError:
        return None


def asked_numbers(question: str) -> tuple[str, ...]:
    """The division numbers ``question`` names ("9544" of "what does sec 9544 do?")."""
    return tuple(dict.fromkeys(m.group("number").lower() for m in _ASKED.finditer(question)))


def named_divisions(question: str, texts: dict[str, str],
                    preferred: list[str] | None = None) -> list[Division]:
    """The divisions ``question`` names by number, in the documents of ``texts`` (source ->
    text). A number several documents use ("Sec. 2") is taken from the one first in
    ``preferred`` (the sources of the best passages), else from none: a guess between
    documents would read the wrong one first."""
    numbers = asked_numbers(question)
    if not numbers:
        return []
    out: list[Division] = []
    for number in numbers:
        holders = [d for source, text in texts.items() for d in divisions_of(source, text)
                   if d.number == number]
        sources = list(dict.fromkeys(d.source for d in holders))
        if len(sources) > 1:
            ranked = [s for s in (preferred or []) if s in sources]
            sources = ranked[:1]
        out.extend(next(d for d in holders if d.source == s) for s in sources)
    return out


# The words by which a question asks what a division is, says or is called, and nothing
# else (a closed class of English): "What does sec 9544 do?", "Heading of Sec. 6?".
_DEFINING = frozenset(tokenize(
    "do say cover provide contain deal concern address "
    "describe call title name head heading about stand tell subject matter be what"))


def defined_division(
    index: OpenedIndex, analysis: QuestionAnalysis, sources: list[str]
) -> Division | None:
    """The division a question names by number and asks nothing else about than what it
    is, says or is called ("What's § 9523 called?", "what's section 8 of the russian oil
    order?"), looked for in ``sources`` (those of the best passages, best first)."""
    texts = {s: text for s in sources if (text := readable_text(index, s)) is not None}
    named = named_divisions(analysis.question, texts, sources)
    if len(named) != 1:
        return None
    division = named[0]
    meta = index.documents().get(division.source, {})
    # The words that name the document: its title, its file name, the phrase by which the
    # question names it ("the India tariff order") and the nouns that frame a question.
    file_words = re.sub(r"[^A-Za-z0-9]+", " ", division.source)
    naming = set(tokenize(f"{meta.get('title', '')} {file_words}"))
    naming |= {t for phrase in analysis.source_phrases for w in phrase for t in tokenize(w)}
    naming |= set(tokenize(" ".join(sorted(FRAMING_NOUNS | DIVISION_NOUNS))))
    asked = {t for w in analysis.content for t in tokenize(w) if not t.isdigit()}
    return division if asked <= _DEFINING | naming else None
