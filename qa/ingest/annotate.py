"""Annotate a document's chunks once, at index time: each sentence's role and entities (one
batched spaCy pass per document), so no question pays for a parse."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from qa.ingest.linguistics import SentenceInput, annotate
from qa.models import Chunk


def annotate_chunks(
    chunks: Sequence[Chunk], *, title: str | None, headings: Sequence[str]
) -> list[Chunk]:
    """``chunks`` with every sentence's role and entities filled in."""
    heads = tuple(h for h in headings if h)
    items = [
        SentenceInput(text=s.text, title=title, headings=heads)
        for c in chunks for s in c.sentences
    ]
    notes = iter(annotate(items))
    out = []
    for c in chunks:
        sentences = []
        for s in c.sentences:
            n = next(notes)
            sentences.append(replace(
                s, role=n.role,
                entities=tuple((label, a, b) for label, _, a, b in n.entities),
            ))
        out.append(replace(c, sentences=tuple(sentences)))
    return out
