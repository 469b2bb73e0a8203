"""A chunk as the index stores it: the LangChain ``Document`` the sync writes, its record id,
the text the model embeds and the sentences an answer may quote.

A record's metadata holds the chunk's text, span, title and section, and ``quotes``: each
quotable sentence as (raw start, raw end, start and end in the chunk text). The store adds the
sentences' vectors (``qa.index.store``).
"""

from __future__ import annotations

import json

from langchain_core.documents import Document

from qa.ingest.roles import LEGAL_FRAGMENT, LIST_ITEM, PROSE, looks_injected
from qa.models import Chunk

# How chunks and sentences are presented to the model (a change re-embeds everything).
EMBED_FORMAT = "section-prefix/v1;quotable/v2;late-chunked-sentences/v1;sentence-notes/v6"


def embed_text(chunk_text: str, section: str | None) -> str:
    """The text the model sees for a chunk: its section heading gives it context."""
    return f"{section}: {chunk_text}" if section else chunk_text


def chunk_record(chunk: Chunk) -> Document:
    """The document the sync hands LangChain's ``index()`` for ``chunk``."""
    return Document(
        page_content=embed_text(chunk.text, chunk.section),
        metadata={
            "chunk_id": chunk.id, "source": chunk.source, "title": chunk.title,
            "section": chunk.section or "", "start": chunk.start, "end": chunk.end,
            "text": chunk.text, "sentences": len(chunk.sentences),
            "quotes": json.dumps(quote_spans(chunk)),
            "notes": json.dumps(quote_notes(chunk)),
        },
    )


def record_id(doc: Document) -> str:
    """The Chroma id of a chunk: its sha256 content hash (which covers its text, span, title
    and section). LangChain's default key hashes the same things, but ids we can derive let
    readers fetch records by id instead of by filter."""
    return str(doc.metadata["chunk_id"])


QUOTABLE_ROLES = frozenset({PROSE, LIST_ITEM, LEGAL_FRAGMENT})


def quotable(chunk: Chunk) -> list[int]:
    """Positions of the sentences an answer may quote: prose, list items and clauses of legal
    enumerations (a statute is mostly clauses), by the role annotated at index time. Headings,
    titles, disclaimers, lists of headings and instructions to
    an assistant stay in the chunk (they can be found and shown as a passage) but no backend
    ever quotes them; the regex check backs the role up for chunks annotated without a parse."""
    return [
        i for i, s in enumerate(chunk.sentences)
        if s.role in QUOTABLE_ROLES and not looks_injected(s.text)
    ]


def quote_notes(chunk: Chunk) -> list[list[object]]:
    """Per quotable sentence: its role and entities (label, start, end)."""
    return [
        [s.role, [list(e) for e in s.entities]]
        for s in (chunk.sentences[i] for i in quotable(chunk))
    ]


def sentence_spans(chunk: Chunk) -> list[tuple[int, int]]:
    """Each sentence's start and end in the chunk text (its sentences joined by single
    spaces), quotable or not: the embedding pass runs before the roles are known."""
    spans, at = [], 0
    for sentence in chunk.sentences:
        spans.append((at, at + len(sentence.text)))
        at += len(sentence.text) + 1
    return spans


def quote_spans(chunk: Chunk) -> list[tuple[int, int, int, int]]:
    """Each quotable sentence as (raw start, raw end, start and end in the chunk text)."""
    keep = set(quotable(chunk))
    return [
        (sentence.start, sentence.end, a, b)
        for i, (sentence, (a, b)) in enumerate(zip(chunk.sentences, sentence_spans(chunk),
                                                   strict=True))
        if i in keep
    ]
