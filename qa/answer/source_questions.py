"""Questions about the sources as a set: which one is the newest or the oldest, and which one
says something ("Which of the documents talks about Mars?").

A document is named by its title as its own text writes it (cited with offsets like any quote);
its date comes from its metadata, the date every citation already carries.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from qa.answer.document_facts import iso_date, locate
from qa.models import Answer, Citation, Passage
from qa.retrieval.analysis import analyse

if TYPE_CHECKING:
    from qa.index.opened import OpenedIndex
    from qa.retrieval.questions import PreparedQuestion

_SOURCE = r"(?:sources?|documents?|reports?|texts?|papers?|publications?|files?)"
# "Which source …", "Which of the documents …", "In which document …": the question asks for
# a document (a closed class of English nouns for one).
# "Which of the six documents …", "Which of my sources …" too.
WHICH_SOURCE = re.compile(
    rf"\b(?:which|what)\s+(?:one\s+)?(?:of\s+(?:the|my|your|our|these|those)\s+(?:\w+\s+)?)?"
    rf"{_SOURCE}\b", re.IGNORECASE)
_NEWEST = re.compile(r"\b(most\s+recent|newest|latest|last|youngest)\b", re.IGNORECASE)
_OLDEST = re.compile(r"\b(oldest|earliest|first|least\s+recent)\b", re.IGNORECASE)
_SUPERLATIVE_SOURCE = re.compile(
    rf"\b(?:most\s+recent|newest|latest|oldest|earliest)\s+(?:one\s+)?(?:of\s+the\s+)?{_SOURCE}\b",
    re.IGNORECASE,
)
_SORTABLE = re.compile(r"\d{4}(?:-\d{2}(?:-\d{2})?)?")


def asks_which_source(question: str) -> bool:
    return WHICH_SOURCE.search(question) is not None


def newest_or_oldest_answer(
    engine: OpenedIndex, prepared: PreparedQuestion, passages: list[Passage],
    sources: list[str] | None = None,
) -> Answer | None:
    """"Which source is the most recent?": the documents (those of ``sources``, when the
    asker chose some) compared by their metadata dates, the newest (or oldest) named by its
    title where its text writes it, cited; then the others in order, so the reader sees the
    whole ranking."""
    question = prepared.question
    if not (asks_which_source(question) or _SUPERLATIVE_SOURCE.search(question)):
        return None
    newest, oldest = _NEWEST.search(question), _OLDEST.search(question)
    if bool(newest) == bool(oldest) or analyse(question).nouns:
        return None  # "Which source first mentions Kellogg?" asks about Kellogg too
    documents = engine.documents()
    dated = sorted(
        ((m.group(0), source) for source, doc in documents.items()
         if (sources is None or source in sources)
         and (m := _SORTABLE.match(str(doc.get("date") or "").strip()))),
        reverse=bool(newest),
    )
    if not dated:
        return None
    _, source = dated[0]
    citation = title_citation(engine, source)
    if citation is None:
        return None
    which = "most recent" if newest else "oldest"
    others = "; ".join(f"{documents[s].get('title', s)} ({d})" for d, s in dated[1:])
    rest = f" Then, {'newest' if newest else 'oldest'} first: {others}." if others else ""
    text = (f"{citation.quote} [1] is the {which} of the {len(dated)} dated sources, dated "
            f"{_readable(citation.date)}.{rest}")
    return Answer(
        text=text, abstained=False, citations=[citation], passages=passages,
        query=prepared.query, backend="extractive", notice=prepared.notice,
        short=citation.quote,
    )


def _readable(value: str | None) -> str:
    """An ISO date as a reader writes it, then as the metadata does: "September 18, 2026
    (2026-09-18)"; anything else as it is."""
    day = iso_date(value)
    return f"{day:%B} {day.day}, {day.year} ({value})" if day else value or ""


def title_citation(engine: OpenedIndex, source: str) -> Citation | None:
    """Where ``source``'s text writes its title (its metadata title, or failing that its first
    line, the heading it opens with), as a citation."""
    doc: dict[str, Any] = engine.documents().get(source, {})
    text = engine.source_text(source)
    title = str(doc.get("title") or source)
    span = locate("title", title, text)
    if span is None:
        first = re.search(r"\S[^\n]{2,200}", text)
        if first is None:
            return None
        line = first.group(0).lstrip("# ").rstrip()
        begin = first.start() + first.group(0).index(line)
        span = (begin, begin + len(line))
    start, end = span
    return Citation(source=source, title=title, section=None, quote=text[start:end],
                    start=start, end=end, date=doc.get("date") or None)
