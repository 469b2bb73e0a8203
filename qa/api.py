"""The public API (see DESIGN.md for the contract): questions, passages, the corpus.

The only module that joins the stages: it checks its input, opens the index (building or
updating it when stale), retrieves, and hands the candidates to the configured answer backend.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from qa.answer.common import stream_text, to_passages
from qa.answer.extractive import extractive_answer
from qa.config import Settings
from qa.errors import QuestionError
from qa.index.opened import open_index
from qa.index.sync import IndexReport, is_stale, read_live_manifest, sync_index
from qa.ingest.loaders import source_text as _read_source
from qa.models import Answer, CorpusInfo, DocumentInfo, Passage, StreamEvent
from qa.retrieval.hybrid import search
from qa.retrieval.questions import check_history, prepare

log = logging.getLogger(__name__)


def _settings(settings: Settings | None, **overrides: Any) -> Settings:
    base = settings or Settings.from_env()
    return base.with_(**overrides) if overrides else base


def retrieve(
    query: str, k: int | None = None, *, settings: Settings | None = None
) -> list[Passage]:
    """The ``k`` best passages for ``query``, best first; offsets point into the source text."""
    settings = _settings(settings)
    prepared = prepare(query, None, settings.max_question_chars)
    if k is not None and (not isinstance(k, int) or k < 1 or k > 100):
        raise QuestionError(f"k must be an integer between 1 and 100, got {k!r}")
    index = open_index(settings)
    return to_passages(index, search(index, prepared.query)[: k or settings.top_k])


def ask(
    question: str,
    history: list[tuple[str, str]] | None = None,
    *,
    backend: str | None = None,
    k: int | None = None,
    settings: Settings | None = None,
) -> Answer:
    """Answer ``question`` from the corpus, with citations, or abstain (see DESIGN.md)."""
    answer: Answer | None = None
    for event in ask_stream(question, history, backend=backend, k=k, settings=settings):
        if event.answer is not None:
            answer = event.answer
    assert answer is not None
    return answer


def ask_stream(
    question: str,
    history: list[tuple[str, str]] | None = None,
    *,
    backend: str | None = None,
    k: int | None = None,
    settings: Settings | None = None,
) -> Iterator[StreamEvent]:
    """Text deltas as the answer forms, then one event carrying the final ``Answer``."""
    settings = _settings(settings, answer_backend=backend, top_k=k)
    prepared = prepare(question, history, settings.max_question_chars)
    index = open_index(settings)
    candidates = search(index, prepared.query)
    passages = to_passages(index, candidates[: settings.top_k])
    if settings.answer_backend != "extractive":
        from qa.answer.llm import generate_stream  # LangChain's chat clients load only here

        yield from generate_stream(
            index, settings, prepared, candidates, passages, history=check_history(history)
        )
        return
    yield from stream_text(extractive_answer(index, prepared, candidates, passages))


def corpus_info(settings: Settings | None = None) -> CorpusInfo:
    """Documents, chunk count and index time of the (fresh) index."""
    settings = settings or Settings.from_env()
    index = open_index(settings)
    docs = [
        DocumentInfo(
            source=source, title=str(d.get("title", source)), chunks=int(d.get("chunks", 0)),
            date=d.get("date"), author=d.get("author"), url=d.get("url"),
        )
        for source, d in sorted(index.documents().items())
    ]
    return CorpusInfo(
        documents=docs,
        chunks=sum(d.chunks for d in docs),
        indexed_at=index.manifest.get("indexed_at"),
        skipped=[tuple(s) for s in index.manifest.get("skipped", [])],
    )


def index_status(settings: Settings | None = None) -> str:
    """"missing", "stale" or "fresh": whether the next question builds or updates the index
    first (cheap: file stats, hashes only of files whose stats moved)."""
    settings = settings or Settings.from_env()
    manifest = read_live_manifest(settings)
    if manifest is None:
        return "missing"
    return "stale" if is_stale(settings, manifest) else "fresh"


def reindex(
    settings: Settings | None = None, *, full: bool = False, progress: bool = True
) -> IndexReport:
    """Bring the index up to date with ``corpus/`` now (``full``: rebuild from scratch)."""
    report = sync_index(settings or Settings.from_env(), rebuild=full, progress=progress)
    assert report is not None  # waiting for the writer lock always yields a report
    return report


def source_text(source: str, settings: Settings | None = None) -> str:
    """The full text a document's offsets point into (raw file text for text formats)."""
    settings = settings or Settings.from_env()
    root = settings.corpus_dir.resolve()
    path = (root / source).resolve()
    if root not in path.parents or not path.is_file():
        raise QuestionError(f"no document {source!r} in the corpus")
    return _read_source(Path(path))
