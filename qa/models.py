"""The domain objects: small frozen dataclasses shared by every layer."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, kw_only=True)
class Passage:
    """A retrieved span of a source; ``text == source_text[start:end]``."""

    text: str
    source: str  # path relative to the corpus directory
    title: str
    section: str | None
    start: int
    end: int
    score: float
    chunk_id: str = ""


@dataclass(frozen=True, kw_only=True)
class Citation:
    """A verbatim quote backing one marker ``[n]`` of an answer."""

    source: str
    title: str
    section: str | None
    quote: str  # == source_text[start:end]
    start: int
    end: int


@dataclass(frozen=True, kw_only=True)
class Answer:
    """The reply to one question: text with ``[n]`` markers, citations in marker order."""

    text: str
    abstained: bool
    citations: list[Citation] = field(default_factory=list)
    passages: list[Passage] = field(default_factory=list)  # what was searched, best first
    query: str = ""  # the retrieval query after resolving follow-ups
    backend: str = "extractive"
    notice: str | None = None  # e.g. a truncated question or an LLM fallback


@dataclass(frozen=True, kw_only=True)
class StreamEvent:
    """One event of ``ask_stream``: a text delta, or the final answer (``answer`` set)."""

    delta: str = ""
    answer: Answer | None = None


@dataclass(frozen=True, kw_only=True)
class Sentence:
    """A sentence of a chunk, as offsets into the raw source text."""

    start: int
    end: int
    text: str  # cleaned (whitespace-normalised) form, for display and scoring


@dataclass(frozen=True, kw_only=True)
class Chunk:
    """A unit of indexing: raw span of one document within one section."""

    id: str  # content hash of source + span + text
    source: str
    title: str
    section: str | None
    start: int
    end: int
    text: str  # cleaned text that is embedded and searched
    sentences: tuple[Sentence, ...] = ()


@dataclass(frozen=True, kw_only=True)
class DocumentMeta:
    """Metadata of a corpus document, from its sidecar or its header."""

    title: str
    author: str | None = None
    publisher: str | None = None
    date: str | None = None
    url: str | None = None
    sections: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class DocumentInfo:
    """One indexed document, as the status views list it."""

    source: str
    title: str
    chunks: int
    date: str | None = None
    author: str | None = None
    url: str | None = None


@dataclass(frozen=True, kw_only=True)
class CorpusInfo:
    """What the live index holds, for a header line or a status command."""

    documents: list[DocumentInfo]
    chunks: int
    indexed_at: str | None
    skipped: list[tuple[str, str]] = field(default_factory=list)
