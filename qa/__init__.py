"""outlook-qa: grounded, cited answers from a document corpus.

The flow of a question, one stage per subpackage, each importing only those below it::

    corpus/ files ──► qa.ingest    load (a loader per format), clean with offset maps, chunk,
                                   sentence roles
                 ──► qa.index     embed (MiniLM), Chroma store, BM25, manifest + generations,
                                   locks, the sync; the opened index of this process
    question    ──► qa.retrieval question checks, follow-ups, dense + BM25 fused by rank
                 ──► qa.answer    extractive reader or an LLM backend, verification, prompts,
                                   document facts
                 ──► qa.api       ask / ask_stream / retrieve / corpus operations  ──► app/, evals/

``config``, ``errors`` and ``models`` sit under every stage. Importing this package is cheap:
the public functions load ``qa.api`` (and with it Chroma, LangChain and the model) on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from qa import config as _config  # noqa: F401  (sets the offline environment first)
from qa.config import Settings
from qa.errors import (
    BackendError,
    ConfigError,
    CorpusError,
    IndexBuildError,
    QAError,
    QuestionError,
)
from qa.models import (
    MARKER,
    Answer,
    Citation,
    CorpusInfo,
    DocumentChange,
    DocumentInfo,
    Passage,
    ReaderCandidate,
    StreamEvent,
    strip_markers,
)

if TYPE_CHECKING:
    from qa.api import (
        add_document,
        ask,
        ask_stream,
        corpus_info,
        documents,
        index_status,
        reader_candidates,
        reindex,
        remove_document,
        retrieve,
        source_text,
    )

_API = frozenset(
    {
        "add_document", "ask", "ask_stream", "corpus_info", "documents", "index_status",
        "reader_candidates", "reindex", "remove_document", "retrieve", "source_text",
    }
)


def __getattr__(name: str) -> Any:
    """Load ``qa.api`` (and everything heavy behind it) when a public function is first used."""
    if name in _API:
        value = getattr(importlib.import_module("qa.api"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'qa' has no attribute {name!r}")


__all__ = [
    "MARKER",
    "Answer",
    "BackendError",
    "Citation",
    "ConfigError",
    "CorpusError",
    "CorpusInfo",
    "DocumentChange",
    "DocumentInfo",
    "IndexBuildError",
    "Passage",
    "QAError",
    "QuestionError",
    "ReaderCandidate",
    "Settings",
    "StreamEvent",
    "add_document",
    "ask",
    "ask_stream",
    "corpus_info",
    "documents",
    "index_status",
    "reader_candidates",
    "reindex",
    "remove_document",
    "retrieve",
    "source_text",
    "strip_markers",
]
