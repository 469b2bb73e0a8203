"""Questions about a document itself (who wrote it, when it appeared, who published it).

The answer comes from the document's metadata, but only when the value also appears verbatim in
the document's text, so it can be cited with offsets like any other answer.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qa.ingest.loaders import SkippedDocument
from qa.ingest.loaders import read_sidecar as _read_sidecar
from qa.models import Answer, Citation, Passage

if TYPE_CHECKING:
    from qa.index.opened import OpenedIndex
    from qa.retrieval.hybrid import Candidate
    from qa.retrieval.questions import PreparedQuestion

_FIELD_QUESTIONS = {
    "author": re.compile(
        r"\bwho\s+(wrote|authored|is\s+the\s+author|was\s+the\s+author)\b|\bauthor\s+of\b|"
        r"\bwritten\s+by\b|\bwho\s+is\s+the\s+writer\b",
        re.IGNORECASE,
    ),
    "date": re.compile(
        r"\bwhen\s+(was|were|did)\b[^?]{0,120}\b(published|released|written|issued|dated|"
        r"come\s+out|appear|delivered|given|signed|held|updated|revised)\b|"
        r"\b(publication|release|update|revision)\s+date\b|\bwhat\s+date\b[^?]{0,40}\b"
        r"(published|dated|issued|updated)\b",
        re.IGNORECASE,
    ),
    "publisher": re.compile(
        r"\bwho\s+(published|issued|released)\b|\bpublisher\b|\bwhich\s+(institute|institution|"
        r"organi[sz]ation|think\s+tank)\b[^?]{0,40}\b(publish|issue|release)",
        re.IGNORECASE,
    ),
}
_DATE_FORMATS = ("%B %d, %Y", "%B %-d, %Y", "%d %B %Y", "%-d %B %Y", "%Y-%m-%d", "%b. %d, %Y")


def asked_field(question: str) -> str | None:
    """Which metadata field the question asks for, if it asks about the document itself."""
    for name, pattern in _FIELD_QUESTIONS.items():
        if pattern.search(question):
            return name
    return None


def locate(field: str, value: str, text: str) -> tuple[int, int] | None:
    """Offsets of the first appearance of a metadata value in the text, verbatim but for
    letter case ("Expert Groups On the Black Sea" for "… on the Black Sea")."""
    for variant in _variants(field, value):
        found = re.search(re.escape(variant), text, re.IGNORECASE)
        if found:
            return found.start(), found.end()
    return None


def iso_date(value: object) -> date | None:
    """A metadata value that is an ISO date ("2025-08-06"), as a date; None for any other."""
    m = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", str(value or "").strip())
    if not m:
        return None
    try:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return None


def date_words(value: object) -> str:
    """A metadata date ("2025-08-06") as questions name it ("August 6, 2025", "6 August 2025",
    "August 2025"); empty for anything that is not an ISO date."""
    d = iso_date(value)
    if d is None:
        return ""
    return " ".join([*_variants("date", d.isoformat()), d.strftime("%B %Y")])


def _variants(field: str, value: str) -> list[str]:
    value = value.strip()
    out = [value]
    if field == "date":
        m = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", value)
        if m:
            d = date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
            out += [d.strftime(f) for f in _DATE_FORMATS]
    else:
        # without an aside the text may not carry ("Russia (and Ukraine) Expert Groups"),
        # then the head before any comma, aside or bar
        bare = " ".join(re.sub(r"\([^()]*\)", " ", value).split())
        head = re.split(r"[,;(|]", value)[0].strip()
        out += [bare, head, head.removeprefix("The ").strip()]
    return [v for v in dict.fromkeys(out) if len(v) >= 4]


def named_document(question: str, documents: dict[str, Any]) -> str | None:
    """The document whose title (or file name) shares the most words with the question."""
    from qa.index.lexical import tokenize

    asked = set(tokenize(question))
    best, best_score = None, 0
    for source, doc in documents.items():
        words = set(tokenize(f"{doc.get('title', '')} {source.replace('_', ' ')}"))
        score = len(asked & words)
        if score > best_score:
            best, best_score = source, score
    return best


def document_fact_answer(
    engine: OpenedIndex, prepared: PreparedQuestion, candidates: list[Candidate],
    passages: list[Passage], sources: list[str] | None = None,
) -> Answer | None:
    """Author, date or publisher of the best-matching document (of ``sources``, when the
    asker chose some), cited where the text says it."""
    field = asked_field(prepared.question)
    if field is None:
        return None
    documents = {name: doc for name, doc in engine.documents().items()
                 if sources is None or name in sources}
    source = named_document(prepared.question, documents) or str(candidates[0].metadata["source"])
    doc = {**documents.get(source, {}), **read_sidecar(engine.settings.corpus_dir / source)}
    if not about_document(prepared.question, doc, source):
        return None
    value = doc.get(field) or (doc.get("author") if field == "publisher" else None)
    if not value:
        return None
    text = engine.source_text(source)
    span = locate(field, str(value), text)
    if span is None:
        return None
    start, end = span
    title = str(doc.get("title", source))
    citation = Citation(
        source=source, title=title, section=None, quote=text[start:end], start=start, end=end
    )
    label = {"author": "was written by", "date": "is dated", "publisher": "was published by"}
    return Answer(
        text=f"“{title}” {label[field]} {text[start:end]} [1]", abstained=False,
        citations=[citation], passages=passages, query=prepared.query, backend="extractive",
        notice=prepared.notice, short=text[start:end],  # the value, as the text writes it
    )


# Nouns of a document's making (a closed class): "the latest update", "its publication".
_MAKING_NOUNS = frozenset({"update", "version", "edition", "publication", "release",
                           "revision", "publisher", "writer"})


def about_document(question: str, doc: dict[str, Any], source: str) -> bool:
    """The question names nothing its document's metadata does not: "When was the outlook
    published?" asks about the document, "When was Executive Order 14024 issued?" (a number
    no title or byline holds) about something the document cites."""
    from qa.index.lexical import tokenize
    from qa.retrieval.analysis import FRAMING_NOUNS, SOURCE_NOUNS, analyse

    described = " ".join(
        str(doc.get(k) or "") for k in ("title", "author", "publisher")
    ) + " " + source.replace("_", " ")
    known = set(tokenize(described))
    analysis = analyse(question)
    # A person may be the document's speaker ("When did Trump give his inaugural address?").
    named = [text for label, text in analysis.entities if label not in ("DATE", "PERSON")]
    named += [w for w in analysis.nouns if any(ch.isdigit() for ch in w)]
    # ... nor a thing of its own: "When did Keith Kellogg's book come out?" asks about a book
    people = {t for label, text in analysis.entities if label == "PERSON" for t in tokenize(text)}
    named += [w for w in analysis.nouns if w not in SOURCE_NOUNS and w not in FRAMING_NOUNS
              and w not in _MAKING_NOUNS and not set(tokenize(w)) <= people]
    return all(set(tokenize(name)) <= known for name in named if tokenize(name))


def read_sidecar(path: Path) -> dict[str, Any]:
    try:
        return dict(_read_sidecar(path))
    except SkippedDocument:
        return {}
