"""The domain objects: small frozen dataclasses shared by every layer."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# Marker ``[n]`` in an answer's text: citation n (1-based) of ``Answer.citations``. The one
# definition every layer and front end uses to find, strip or link markers.
MARKER = re.compile(r"\[(\d{1,3})\]")


def strip_markers(text: str) -> str:
    """``text`` without its ``[n]`` markers (and the space before each)."""
    return re.sub(r"\s*" + MARKER.pattern, "", text)


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
    date: str | None = None  # the document's date (ISO 8601, from its metadata)


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
    short: str | None = None  # the minimal answer, verbatim from citations[0].quote


@dataclass(frozen=True, kw_only=True)
class ReaderCandidate:
    """One sentence the extractive reader weighed, with its features and probability.

    ``qa.reader_candidates`` returns these so the scorer can be fitted and inspected.
    """

    source: str
    start: int
    end: int
    text: str
    role: str
    features: dict[str, float]
    probability: float  # that this sentence answers the question (the fitted scorer)
    entities: tuple[tuple[str, int, int], ...] = ()  # (label, start, end) within ``text``


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
    role: str = "prose"  # qa.ingest.roles: only prose (and list items) may be quoted
    entities: tuple[tuple[str, int, int], ...] = ()  # (spaCy label, start, end) within text


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

    source: str  # path relative to the corpus directory, as citations name it
    title: str
    chunks: int
    date: str | None = None
    author: str | None = None
    url: str | None = None
    # "indexed"; "changed" or "new" (the file differs from the index: the next question
    # updates it); "missing" (indexed, but the file is gone); "skipped" (``reason`` says why)
    status: str = "indexed"
    reason: str | None = None

    @property
    def name(self) -> str:
        """The document's name, as ``qa.add_document`` and ``qa.remove_document`` take it."""
        return self.source


@dataclass(frozen=True, kw_only=True)
class DocumentChange:
    """What ``qa.add_document`` or ``qa.remove_document`` did to one document."""

    name: str
    status: str  # "indexed", "updated", "unchanged", "skipped" or "removed"
    reason: str | None = None  # why it was skipped
    chunks: int = 0  # chunks of the document in the index afterwards


@dataclass(frozen=True, kw_only=True)
class CorpusInfo:
    """What the live index holds, for a header line or a status command."""

    documents: list[DocumentInfo]
    chunks: int
    indexed_at: str | None
    skipped: list[tuple[str, str]] = field(default_factory=list)
