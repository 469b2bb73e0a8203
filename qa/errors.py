"""Errors a user can cause; each message says what to do next."""

from __future__ import annotations


class QAError(Exception):
    """Base of every error the public API raises on purpose."""


class QuestionError(QAError):
    """The question or its history is not usable (empty, malformed)."""


class ConfigError(QAError):
    """A setting is missing or invalid."""


class CorpusError(QAError):
    """The corpus directory is missing or holds no usable document."""


class IndexBuildError(QAError):
    """The index could not be built, read or repaired."""


class BackendError(QAError):
    """An answer backend (an LLM server) failed or is misconfigured."""


class IndexDamagedError(IndexBuildError):
    """The index's files are damaged (or Chroma failed reading them); it is rebuilt."""


class IndexBusyError(IndexBuildError):
    """Another writer holds the index (server mode: its lease); try again later."""


class MassRemovalError(CorpusError):
    """A sync would remove most of the indexed documents (an emptied or unmounted corpus)."""


class IndexUnavailableError(IndexBuildError):
    """The index cannot be reached right now (its disk is full, its Chroma server is down):
    not damage, so nothing is rebuilt; the message says what to do."""
