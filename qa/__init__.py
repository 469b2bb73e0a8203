"""outlook-qa: grounded, cited answers from a document corpus.

Public API (see DESIGN.md): ``ask``, ``ask_stream``, ``retrieve`` and the objects they return.
Importing this package is cheap; the model and the index load on first use.
"""

from qa import config as _config  # noqa: F401  (sets the offline environment first)
from qa.api import ask, ask_stream, retrieve
from qa.config import Settings
from qa.errors import (
    BackendError,
    ConfigError,
    CorpusError,
    IndexBuildError,
    QAError,
    QuestionError,
)
from qa.models import Answer, Citation, Passage, StreamEvent
from qa.service import corpus_info, index_status, reindex, source_text

__all__ = [
    "Answer",
    "BackendError",
    "Citation",
    "ConfigError",
    "CorpusError",
    "IndexBuildError",
    "Passage",
    "QAError",
    "QuestionError",
    "Settings",
    "StreamEvent",
    "ask",
    "ask_stream",
    "corpus_info",
    "index_status",
    "reindex",
    "retrieve",
    "source_text",
]
