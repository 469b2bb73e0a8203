"""The public API (see DESIGN.md for the contract): questions, passages, the corpus.

The only module that joins the stages: it checks its input, opens the index (building or
updating it when stale), retrieves, and hands the candidates to the configured answer backend.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from qa.answer.common import stream_text, to_passages
from qa.answer.extractive import candidates_for, extractive_answer
from qa.config import Settings
from qa.errors import CorpusError, QuestionError
from qa.index.opened import OpenedIndex, open_index
from qa.index.sync import IndexReport, is_stale, read_live_manifest, sync_index
from qa.models import (
    Answer,
    CorpusInfo,
    DocumentChange,
    DocumentInfo,
    Passage,
    ReaderCandidate,
    StreamEvent,
)
from qa.retrieval.hybrid import Candidate
from qa.retrieval.named import search_named
from qa.retrieval.questions import PreparedQuestion, analysis_of, check_history, prepare

log = logging.getLogger(__name__)


def _settings(settings: Settings | None, **overrides: Any) -> Settings:
    base = settings or Settings.from_env()
    return base.with_(**overrides) if overrides else base


def retrieve(
    query: str, k: int | None = None, *, sources: list[str] | None = None,
    settings: Settings | None = None,
) -> list[Passage]:
    """The ``k`` best passages for ``query``, best first (within ``sources`` when given);
    offsets point into the source text."""
    settings = _settings(settings)
    prepared = prepare(query, None, settings.max_question_chars)
    _check_k(k)
    index = open_index(settings)
    chosen = _check_sources(index, sources)
    return to_passages(index, _search(index, prepared, chosen)[: k or settings.top_k])


def _search(index: OpenedIndex, prepared: PreparedQuestion,
            sources: list[str] | None = None) -> list[Candidate]:
    """The passages for a question: the hybrid search, and the document it names (if any)."""
    return search_named(index, prepared.query, analysis_of(prepared), sources=sources)


def _check_k(k: object) -> None:
    if k is not None and (isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= 100):
        raise QuestionError(f"k must be an integer between 1 and 100, got {k!r}")


def _check_sources(index: OpenedIndex, sources: object) -> list[str] | None:
    """The chosen documents, each known to the index; None for the whole corpus."""
    if sources is None:
        return None
    if not isinstance(sources, (list, tuple)) or not all(isinstance(s, str) for s in sources):
        raise QuestionError("sources must be a list of document names")
    chosen = list(dict.fromkeys(sources))
    known = index.documents()
    unknown = [s for s in chosen if s not in known]
    if unknown:
        raise QuestionError(
            f"no document {unknown[0]!r} in the index; `python -m qa docs` lists them"
        )
    return chosen or None


def ask(
    question: str,
    history: list[tuple[str, str]] | None = None,
    *,
    backend: str | None = None,
    k: int | None = None,
    sources: list[str] | None = None,
    settings: Settings | None = None,
) -> Answer:
    """Answer ``question`` from the corpus (or from ``sources`` only), with citations, or
    abstain (see DESIGN.md)."""
    answer: Answer | None = None
    for event in ask_stream(question, history, backend=backend, k=k, sources=sources,
                            settings=settings):
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
    sources: list[str] | None = None,
    settings: Settings | None = None,
) -> Iterator[StreamEvent]:
    """Text deltas as the answer forms, then one event carrying the final ``Answer``."""
    _check_k(k)
    settings = _settings(settings, answer_backend=backend, top_k=k)
    prepared = prepare(question, history, settings.max_question_chars)
    index = open_index(settings)
    chosen = _check_sources(index, sources)
    candidates = _search(index, prepared, chosen)
    passages = to_passages(index, candidates[: settings.top_k])
    if settings.answer_backend != "extractive":
        from qa.answer.llm import generate_stream  # LangChain's chat clients load only here

        for event in generate_stream(
            index, settings, prepared, candidates, passages, history=check_history(history),
            sources=chosen,
        ):
            yield (StreamEvent(answer=_with_staleness(index, event.answer))
                   if event.answer is not None else event)
        return
    yield from stream_text(_with_staleness(index, extractive_answer(
        index, prepared, candidates, passages, sources=chosen
    )))


def _with_staleness(index: OpenedIndex, answer: Answer) -> Answer:
    """Say so when a cited document changed on disk since it was indexed: the citations show
    the indexed text (the version the offsets point into), which the file no longer holds."""
    changed = sorted({c.source for c in answer.citations if index.changed_since_indexing(c.source)})
    if not changed:
        return answer
    note = (f"{', '.join(changed)} changed since it was indexed; the quotes show the indexed "
            "version (the index updates before the next question).")
    return replace(answer, notice=" ".join(n for n in (answer.notice, note) if n))


def reader_candidates(
    question: str,
    history: list[tuple[str, str]] | None = None,
    *,
    settings: Settings | None = None,
) -> list[ReaderCandidate]:
    """Every sentence the extractive reader weighed for ``question``, with its features and
    probability, most probable first (what ``evals/fit_reader.py`` fits the scorer on)."""
    settings = _settings(settings)
    prepared = prepare(question, history, settings.max_question_chars)
    index = open_index(settings)
    return candidates_for(index, prepared, _search(index, prepared))


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
    settings: Settings | None = None, *, full: bool = False, progress: bool = True,
    allow_mass_removal: bool = False,
) -> IndexReport:
    """Bring the index up to date with ``corpus/`` now (``full``: rebuild from scratch). A
    sync that would remove most documents raises ``MassRemovalError`` (a ``CorpusError``) and
    keeps the index, unless ``allow_mass_removal``."""
    report = sync_index(settings or Settings.from_env(), rebuild=full, progress=progress,
                        allow_mass_removal=allow_mass_removal)
    assert report is not None  # waiting for the writer lock always yields a report
    return report


def source_text(source: str, settings: Settings | None = None) -> str:
    """The full text a document's offsets point into: the text that was indexed (stored with
    the index, cached per revision: it matches every citation even after the file changed),
    or the file's text for a document not indexed yet. A bad name raises ``QuestionError``."""
    from qa.index.opened import document_text
    from qa.ingest.files import check_source_name

    name = check_source_name(source)
    return document_text(settings or Settings.from_env(), name)


# --- documents: add, remove, list (the corpus operations the UI and `python -m qa` use) ---

_corpus_change = threading.Lock()  # one add/remove at a time in this process


def documents(settings: Settings | None = None) -> list[DocumentInfo]:
    """Every document of the corpus with its index status, by name; reads the manifest and
    file stats only (it never builds or updates the index)."""
    from qa.index.sync import read_live_manifest, stat_key
    from qa.ingest.loaders import discover, file_sha256

    settings = settings or Settings.from_env()
    manifest = read_live_manifest(settings) or {}
    known: dict[str, Any] = manifest.get("documents", {})
    skipped_files: dict[str, Any] = manifest.get("skipped_files", {})
    files, passed_over = discover(settings.corpus_dir)
    current = {p.relative_to(settings.corpus_dir).as_posix(): p for p in files}
    out: dict[str, DocumentInfo] = {}
    for source, entry in known.items():
        path = current.get(source)
        status = "missing"
        if path is not None:
            try:
                same = entry.get("stat") == stat_key(path) or (
                    file_sha256(path) == entry.get("sha256")
                )
            except OSError:
                same = False
            status = "indexed" if same else "changed"
        out[source] = DocumentInfo(
            source=source, title=str(entry.get("title") or source),
            chunks=int(entry.get("chunks", 0)), date=entry.get("date"),
            author=entry.get("author"), url=entry.get("url"), status=status,
        )
    for source in current.keys() - known.keys():
        skip = skipped_files.get(source)
        out[source] = DocumentInfo(
            source=source, title=source, chunks=0,
            status="skipped" if skip else "new",
            reason=str(skip.get("reason")) if skip else None,
        )
    for source, reason in passed_over:
        if source not in out and not source.startswith("."):
            out[source] = DocumentInfo(
                source=source, title=source, chunks=0, status="skipped", reason=reason
            )
    return [out[s] for s in sorted(out)]


def add_document(
    name: str,
    data: bytes | str,
    *,
    settings: Settings | None = None,
    progress: bool = False,
) -> DocumentChange:
    """Write ``data`` into the corpus as ``name`` (atomically; same name = replace) and sync
    the index; unchanged content re-embeds nothing. A refused name, type or size raises
    ``CorpusError`` and writes nothing; content with no indexable text comes back "skipped"
    and leaves the corpus as it was, as does a failed sync (the old index keeps answering)."""
    from qa.index.sync import read_live_manifest
    from qa.ingest import uploads

    settings = settings or Settings.from_env()
    name = uploads.check_name(name)
    raw = uploads.to_bytes(name, data)
    uploads.check_content(name, raw, settings)
    path = uploads.corpus_path(settings, name)
    with _corpus_change:
        previous = uploads.existing_bytes(path)
        before = (read_live_manifest(settings) or {}).get("documents", {})
        if previous != raw:
            reason = uploads.check_indexable(name, raw)
            if reason is not None:
                return DocumentChange(name=name, status="skipped", reason=reason)
            uploads.write_atomic(path, raw)

        def put_back() -> None:
            if previous is None:
                path.unlink(missing_ok=True)
            elif previous != raw:
                uploads.write_atomic(path, previous)

        try:
            report = reindex(settings, progress=progress)
        except BaseException:
            put_back()
            raise
        skipped = dict(report.skipped)
        if name in skipped:  # the loader refused it in the corpus after all
            put_back()
            reindex(settings, progress=False)
            return DocumentChange(name=name, status="skipped", reason=skipped[name])
    after = (read_live_manifest(settings) or {}).get("documents", {})
    chunks = int(after.get(name, {}).get("chunks", 0))
    if name not in report.changed_sources:
        status = "unchanged"
    else:
        status = "updated" if name in before or previous is not None else "indexed"
    return DocumentChange(name=name, status=status, chunks=chunks)


def remove_document(
    name: str, *, settings: Settings | None = None, progress: bool = False
) -> DocumentChange:
    """Delete ``name`` (and its ``.meta.json``) from the corpus and its chunks from the index."""
    from qa.index.sync import read_live_manifest
    from qa.ingest import uploads

    settings = settings or Settings.from_env()
    with _corpus_change:
        removed = uploads.remove_files(settings, name)
        indexed = name in (read_live_manifest(settings) or {}).get("documents", {})
        if not removed and not indexed:
            raise CorpusError(f"no document {name!r} in the corpus; `python -m qa docs` lists them")
        reindex(settings, progress=progress)
    return DocumentChange(name=name, status="removed")
