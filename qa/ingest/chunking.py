"""Sentence- and paragraph-aware chunks with raw offsets and content-hash ids.

Sentences come from ``qa.ingest.sentences`` (abbreviations, initials and numbers stay inside
one sentence). Chunks pack whole sentences, never cross a section, and merge short paragraphs
of one section, so a chunk is a contiguous raw span whose text is verbatim in the source.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass

from langchain_text_splitters import TextSplitter

from qa.ingest.cleaning import Paragraph
from qa.ingest.loaders import LoadedDocument
from qa.ingest.sentences import split_sentences
from qa.models import Chunk, Sentence


@dataclass(frozen=True)
class ChunkSettings:
    """Chunking parameters; a change triggers a full rebuild (they are in the manifest)."""

    max_chars: int = 500
    min_paragraph_chars: int = 160  # shorter paragraphs are merged with their neighbours
    version: int = 11  # bump when the rules (or what a chunk id covers) change

    def fingerprint(self) -> str:
        return f"sentence-chunker/v{self.version}/max{self.max_chars}/min{self.min_paragraph_chars}"


def _split_long(text: str, start: int, end: int, limit: int) -> Iterator[tuple[int, int]]:
    """Cut an over-long sentence at clause punctuation (or spaces) into pieces under ``limit``."""
    while end - start > limit:
        window = text[start : start + limit]
        cut = max(window.rfind("; "), window.rfind(", "), window.rfind(": "))
        if cut < limit // 3:
            cut = window.rfind(" ")
        if cut <= 0:
            cut = limit - 1
        piece_end = start + cut + 1
        while piece_end > start + 1 and text[piece_end - 1] == " ":
            piece_end -= 1  # a piece never ends in the space it was cut at
        yield start, piece_end
        start = start + cut + 1
        while start < end and text[start] == " ":
            start += 1
    if end > start:
        yield start, end


def chunk_document(doc: LoadedDocument, settings: ChunkSettings) -> list[Chunk]:
    """Chunks of one document, in reading order."""
    chunks: list[Chunk] = []
    seen: dict[tuple[str, str | None], int] = {}  # copies of one text so far (for the ids)
    groups = _group_paragraphs(doc.paragraphs, settings)
    for group in groups:
        pieces: list[tuple[Paragraph, int, int]] = []
        for para in group:
            for s, e in split_sentences(para.text):
                for s2, e2 in _split_long(para.text, s, e, settings.max_chars):
                    pieces.append((para, s2, e2))
        current: list[tuple[Paragraph, int, int]] = []
        size = 0
        for piece in pieces:
            length = piece[2] - piece[1]
            if current and size + length + 1 > settings.max_chars:
                chunks.append(_make_chunk(doc, current, seen))
                current, size = [], 0
            current.append(piece)
            size += length + 1
        if current:
            chunks.append(_make_chunk(doc, current, seen))
    return chunks


def _group_paragraphs(
    paragraphs: list[Paragraph], settings: ChunkSettings
) -> list[list[Paragraph]]:
    """Paragraphs chunked together: short neighbours of one section share a group."""
    groups: list[list[Paragraph]] = []
    for para in paragraphs:
        last = groups[-1] if groups else None
        if (
            last is not None
            and last[-1].section == para.section
            and (
                sum(len(p.text) for p in last) < settings.min_paragraph_chars
                or len(para.text) < settings.min_paragraph_chars
            )
            and sum(len(p.text) for p in last) + len(para.text) <= settings.max_chars
        ):
            last.append(para)
        else:
            groups.append([para])
    return groups


def _make_chunk(
    doc: LoadedDocument,
    pieces: list[tuple[Paragraph, int, int]],
    seen: dict[tuple[str, str | None], int],
) -> Chunk:
    sentences = []
    for para, s, e in pieces:
        rs, re_ = para.raw_span(s, e)
        sentences.append(Sentence(start=rs, end=re_, text=para.text[s:e]))
    start, end = sentences[0].start, sentences[-1].end
    text = " ".join(s.text for s in sentences)
    section = pieces[0][0].section
    copy = seen.get((text, section), 0)
    seen[(text, section)] = copy + 1
    return Chunk(
        id=chunk_id(doc.source, text, doc.meta.title, section, copy),
        source=doc.source,
        title=doc.meta.title,
        section=section,
        start=start,
        end=end,
        text=text,
        sentences=tuple(sentences),
    )


def chunk_id(
    source: str, text: str, title: str = "", section: str | None = None, copy: int = 0
) -> str:
    """Content hash of what a chunk's vectors depend on: the same text of the same document,
    under the same title and section, keeps its id (the Chroma record id) wherever it moves,
    so an edit above it does not re-embed it (its offsets are updated in place). ``copy``
    numbers repeats of one text within a document."""
    key = f"{source}\x00{text}\x00{title}\x00{section or ''}\x00{copy}"
    return hashlib.sha256(key.encode()).hexdigest()[:32]


class SentenceTextSplitter(TextSplitter):
    """The same sentence rules behind LangChain's splitter interface (for pipelines using it)."""

    def __init__(self, max_chars: int = 500, **kwargs: object) -> None:
        super().__init__(chunk_size=max_chars, chunk_overlap=0, **kwargs)  # type: ignore[arg-type]
        self._max = max_chars

    def split_text(self, text: str) -> list[str]:
        out: list[str] = []
        current = ""
        for s, e in split_sentences(" ".join(text.split())):
            sentence = " ".join(text.split())[s:e]
            if current and len(current) + 1 + len(sentence) > self._max:
                out.append(current)
                current = ""
            current = f"{current} {sentence}".strip()
        if current:
            out.append(current)
        return out
