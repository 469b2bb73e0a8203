"""The opened index: store, BM25 and caches, loaded once per index revision in a process.

An index is opened once per process for a given settings object and reopened only when the
index changes (a new generation, build or revision), so the model, the BM25 index and the chunk
records are never rebuilt per question. Opening checks the index (counts, revision marker, one
probe query); an index that fails is rebuilt once, then the question goes on. While another
process writes a new index, questions keep being answered from the one already open.
"""

from __future__ import annotations

import functools
import logging
import shutil
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any

from qa.config import Settings
from qa.errors import (
    CorpusError,
    IndexBuildError,
    IndexUnavailableError,
    QAError,
    QuestionError,
)
from qa.index.embedder import Embedder, LangChainEmbeddings, shared_embedder
from qa.index.generations import IndexLocation, read_manifest_file
from qa.index.lexical import LexicalIndex
from qa.index.locks import reader_locks
from qa.index.manifest import is_complete, is_stale, read_live_manifest, stat_key
from qa.index.sentence_vectors import StoredSentence, unpack_sentences
from qa.index.store import (
    ChromaStore,
    manifest_collections,
    open_store,
    server_reachable,
)
from qa.index.sync import IndexReport, sync_index
from qa.index.texts import source_texts
from qa.ingest.loaders import file_sha256
from qa.ingest.loaders import source_text as read_source_text

log = logging.getLogger(__name__)

SENTENCE_CACHE = 4096  # chunks whose decoded sentences are kept (about 6 MB)
RECORD_CACHE = 16384  # chunk records kept (text and metadata, about 30 MB)
SOURCE_CACHE_CHARS = 64 * 2**20  # indexed source texts kept in memory (characters)

_opened: dict[tuple[Any, ...], OpenedIndex] = {}
_opened_lock = threading.Lock()
# key -> (when the corpus was last compared with the index, its revision, how long it took)
_scanned: dict[tuple[Any, ...], tuple[float, Any, float]] = {}
SLOW_SCAN_SECONDS = 0.002  # a corpus that takes longer to scan is scanned at most ...
AUTO_RESCAN_SECONDS = 1.0  # ... this often (thousands of files: not before every question)


class OpenedIndex:
    """Everything a question needs, loaded for one index revision.

    ``open_index`` opens one per process and index revision (``OpenedIndex.open``). The
    constructor assembles one from parts already made, for callers that build a store and a
    BM25 index themselves (the search-only benchmark): it checks nothing and holds no lock.
    """

    def __init__(
        self,
        settings: Settings,
        store: ChromaStore,
        lexical: LexicalIndex,
        embedder: Embedder | None = None,
        *,
        generation: Path | None = None,
        manifest: dict[str, Any] | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.lexical = lexical
        self.embedder: Embedder = embedder or shared_embedder()
        self.generation = generation  # None when assembled from parts: no reader lock held
        self.manifest: dict[str, Any] = manifest or {}
        self._records: OrderedDict[str, tuple[str, dict[str, Any]]] = OrderedDict()
        self._records_lock = threading.Lock()
        self._sentences: OrderedDict[str, list[StoredSentence]] = OrderedDict()
        self._sentences_lock = threading.Lock()
        self._sources: OrderedDict[str, str] = OrderedDict()  # source -> indexed text
        self._sources_lock = threading.Lock()
        self._changed: dict[str, tuple[list[int], bool]] = {}

    @classmethod
    def open(cls, settings: Settings, generation: Path, manifest: dict[str, Any]) -> OpenedIndex:
        """Open ``generation`` as ``manifest`` describes it: the store, checked against the
        manifest (counts, revision marker, one probe query), and its BM25 index (saved once
        per index revision, so a new process loads it instead of scanning every chunk; chunk
        records are fetched as questions need them). Raises ``IndexBuildError`` when the
        checks fail. Takes no reader lock (``open_index`` does)."""
        embedder = shared_embedder()
        store = open_store(settings, generation, LangChainEmbeddings(embedder),
                           collection=manifest_collections(manifest)["chunks"]
                           if settings.chroma_url else None)
        count = store.count()
        _check(settings, manifest, store, embedder, count)
        lexical = _lexical(generation, manifest, store, count)
        return cls(settings, store, lexical, embedder, generation=generation, manifest=manifest)

    def close(self) -> None:
        """Stop holding this index's generation (local mode: its reader lock)."""
        if not self.settings.chroma_url and self.generation is not None:
            reader_locks.release(self.generation)

    @property
    def key(self) -> tuple[str, str, int]:
        return revision_key(self.generation, self.manifest)

    def records(self, chunk_ids: list[str]) -> dict[str, tuple[str, dict[str, Any]]]:
        """Text and metadata of each chunk, read by id and kept (at most ``RECORD_CACHE``)."""
        with self._records_lock:
            have = {c: self._records[c] for c in chunk_ids if c in self._records}
        missing = [c for c in chunk_ids if c not in have]
        if missing:
            fetched = {
                chunk_id: (str(metadata.get("text", text)), metadata)
                for chunk_id, (text, metadata) in self.store.get_chunks(missing).items()
            }
            have.update(fetched)
            with self._records_lock:
                self._records.update(fetched)
                while len(self._records) > RECORD_CACHE:
                    self._records.popitem(last=False)
        return {c: have[c] for c in chunk_ids if c in have}

    def sentences(self, chunk_ids: list[str]) -> dict[str, list[StoredSentence]]:
        """The quotable sentences (with vectors) of each chunk, decoded once per chunk."""
        with self._sentences_lock:
            have = {c: self._sentences[c] for c in chunk_ids if c in self._sentences}
        missing = [c for c in chunk_ids if c not in have]
        if missing:
            for chunk_id, (text, metadata) in self.records(missing).items():
                have[chunk_id] = unpack_sentences(chunk_id, text, metadata)
            with self._sentences_lock:
                for chunk_id in missing:
                    if chunk_id in have:
                        self._sentences[chunk_id] = have[chunk_id]
                while len(self._sentences) > SENTENCE_CACHE:
                    self._sentences.popitem(last=False)
        return have

    def sentences_within(self, source: str, start: int, end: int) -> list[StoredSentence]:
        """The quotable sentences of ``source`` that begin within [start, end), in reading
        order, each once (chunks may overlap): what comes before or after a quote."""
        # A chunk that begins before ``start`` may run on past it (chunks are soft-sized).
        reach = max(end - start, 4 * self.settings.chunk_chars)
        ids = self.store.chunk_ids_between(source, max(start - reach, 0), end)
        seen: dict[tuple[int, int], StoredSentence] = {}
        for chunk_sentences in self.sentences(ids).values():
            for s in chunk_sentences:
                if start <= s.start < end:
                    seen.setdefault((s.start, s.end), s)
        return [seen[k] for k in sorted(seen)]

    def clear_caches(self) -> None:
        """Forget the chunk records and decoded sentences read so far: the next question reads
        them from the store again. (The query vectors the shared embedder keeps stay: see
        ``Embedder.clear_query_cache``.)"""
        with self._records_lock:
            self._records.clear()
        with self._sentences_lock:
            self._sentences.clear()

    def source_text(self, source: str) -> str:
        """The text ``source``'s offsets point into: the text that was indexed (stored with
        the index at index time), kept in memory for this revision. A file edited since is
        still cited in its indexed text (``changed_since_indexing`` says so), never in the
        new text at the old offsets."""
        with self._sources_lock:
            text = self._sources.get(source)
            if text is not None:
                self._sources.move_to_end(source)
                return text
        entry = self.documents().get(source)
        if entry is None and self.manifest:
            raise CorpusError(
                f"no document {source!r} in the index; `python -m qa docs` lists them"
            )
        text = None
        if entry is not None:
            sha256 = str(entry.get("sha256", ""))
            text = source_texts(self.settings, self.generation, self.store).read(sha256)
        if text is None:  # an index built before texts were stored: the file, if unchanged
            text = self._unchanged_file_text(source, entry)
        with self._sources_lock:
            self._sources[source] = text
            size = sum(len(t) for t in self._sources.values())
            while size > SOURCE_CACHE_CHARS and len(self._sources) > 1:
                size -= len(self._sources.popitem(last=False)[1])
        return text

    def _unchanged_file_text(self, source: str, entry: dict[str, Any] | None) -> str:
        path = self.settings.corpus_dir / source
        try:
            if entry is None or entry.get("stat") == stat_key(path) or (
                file_sha256(path) == entry.get("sha256")
            ):
                return read_source_text(path)
        except (OSError, QAError, ValueError) as exc:  # removed or broken since indexing
            raise CorpusError(
                f"{source} changed or vanished since it was indexed ({exc}); "
                "run `python -m qa index`, then ask again"
            ) from exc
        raise CorpusError(
            f"{source} changed since it was indexed; run `python -m qa index`, then ask again"
        )

    def changed_since_indexing(self, source: str) -> bool:
        """Whether ``source`` on disk differs from the indexed version (citations then show
        the indexed text): one stat per call; the file is hashed only when its stat moved."""
        entry = self.documents().get(source) or {}
        path = self.settings.corpus_dir / source
        try:
            stat = stat_key(path)
        except OSError:
            return True
        seen = self._changed.get(source)
        if seen is not None and seen[0] == stat:
            return seen[1]
        try:
            changed = stat != entry.get("stat") and file_sha256(path) != entry.get("sha256")
        except OSError:
            changed = True
        self._changed[source] = (stat, changed)
        return changed

    def documents(self) -> dict[str, Any]:
        return dict(self.manifest.get("documents", {}))


@functools.lru_cache(maxsize=64)
def _cache_key(settings: Settings) -> tuple[Any, ...]:
    return (
        str(settings.corpus_dir.resolve()),
        str(settings.index_dir.resolve()),
        settings.chroma_url,
        settings.chunk_chars,
    )


def revision_key(generation: Path | None, manifest: dict[str, Any]) -> tuple[str, str, int]:
    return str(generation), str(manifest.get("build", "")), int(manifest.get("revision", 0))


def open_index(settings: Settings, *, ensure_fresh: bool = True) -> OpenedIndex:
    """The opened index for ``settings``, building or updating the index first when it is stale.

    When another process is writing the index, the index already open (or the live one)
    keeps answering; only a process with no usable index at all waits for the writer.
    """
    key = _cache_key(settings)
    opened = _opened.get(key)
    manifest = _live_manifest(settings)
    if ensure_fresh and _due_for_scan(settings, key, opened, manifest):
        started = time.monotonic()
        usable = opened is not None or is_complete(manifest, settings)
        try:
            stale = is_stale(settings, manifest)
            scan_seconds = time.monotonic() - started
            if stale:
                report = sync_index(settings, progress=False, wait=not usable)
                if report is not None:
                    _log_report(report)
        except QAError as exc:
            # A refused sync (most documents gone), a missing corpus directory or a failed
            # update: the index that answered so far keeps answering.
            if not usable:
                raise
            scan_seconds = time.monotonic() - started
            log.warning("the index was not updated: %s", exc)
        manifest = _live_manifest(settings)
        _scanned[key] = (time.monotonic(), _revision(manifest), scan_seconds)
    if not is_complete(manifest, settings):
        if opened is not None:
            return opened  # a writer is mid-way; the open index is still whole
        raise IndexBuildError(
            f"no index in {_where(settings)}; run `python -m qa index` to build it"
        )
    assert manifest is not None
    if opened is not None and opened.store.damaged:
        # Chroma failed reading this index's files while answering: repair, do not reuse it.
        log.warning("the index failed while answering; rebuilding it")
        _forget(key, opened)
    else:
        try:
            return _open(settings, key, manifest)
        except IndexUnavailableError:
            if not settings.chroma_url:
                raise
            # Server mode: the build named was dropped meanwhile (two switches while this
            # process opened it): once more against the manifest the server holds now.
            again = _live_manifest(settings)
            if _revision(again) == _revision(manifest) or not is_complete(again, settings):
                raise
            assert again is not None
            return _open(settings, key, again)
        except QAError:
            raise
        except Exception as exc:  # corrupt Chroma files surface as many exception types
            log.warning(
                "the index cannot be used (%s: %s); rebuilding it", type(exc).__name__, exc
            )
    report = sync_index(settings, progress=False, repair_build=str(manifest.get("build", "")))
    if report is not None:
        _log_report(report)
    manifest = _live_manifest(settings)
    if not is_complete(manifest, settings):
        raise IndexBuildError(f"the index in {_where(settings)} could not be repaired")
    assert manifest is not None
    try:
        return _open(settings, key, manifest)
    except Exception as exc:
        raise IndexBuildError(
            f"the index in {settings.index_dir} is unusable even after a rebuild: {exc}"
        ) from exc


def _where(settings: Settings) -> str:
    if settings.chroma_url:
        return f"the Chroma server at {settings.chroma_url}"
    return str(settings.index_dir)


def _live_manifest(settings: Settings) -> dict[str, Any] | None:
    """The live manifest; in server mode an unreachable server is an ``IndexUnavailableError``
    (not "no index": nothing is built then)."""
    manifest = read_live_manifest(settings)
    if manifest is None and settings.chroma_url:
        down = server_reachable(settings)
        if down:
            raise IndexUnavailableError(
                f"the Chroma server at {settings.chroma_url} cannot be reached ({down}); "
                "check that it runs, then ask again"
            )
    return manifest


def _forget(key: tuple[Any, ...], opened: OpenedIndex) -> None:
    with _opened_lock:
        if _opened.get(key) is opened:
            del _opened[key]
            opened.close()


def _revision(manifest: dict[str, Any] | None) -> Any:
    return None if manifest is None else (manifest.get("build"), manifest.get("revision"))


def _due_for_scan(
    settings: Settings, key: tuple[Any, ...], opened: OpenedIndex | None,
    manifest: dict[str, Any] | None,
) -> bool:
    """Whether to compare the corpus with the index now: always without an open index or
    when the index changed since the last scan, else once per ``rescan_seconds``."""
    last = _scanned.get(key)
    if opened is None or last is None or last[1] != _revision(manifest):
        return True
    interval = settings.rescan_seconds
    if interval is None:
        interval = AUTO_RESCAN_SECONDS if last[2] > SLOW_SCAN_SECONDS else 0.0
    return time.monotonic() - last[0] >= interval


def _open(settings: Settings, key: tuple[Any, ...], manifest: dict[str, Any]) -> OpenedIndex:
    """The open index when it matches the live index, else a newly opened one."""
    generation = IndexLocation(settings).current()
    if generation is None:
        raise IndexBuildError(f"the index in {settings.index_dir} disappeared; ask again")
    with _opened_lock:
        opened = _opened.get(key)
        if opened is None or opened.key != revision_key(generation, manifest):
            opened = _new_index(settings, generation, manifest)
            old, _opened[key] = _opened.get(key), opened
            if old is not None:
                old.close()
        return opened


def _new_index(settings: Settings, generation: Path, manifest: dict[str, Any]) -> OpenedIndex:
    """Open an index; in local mode first take the generation's reader lock (which waits out
    an in-place update) and read its manifest again under it."""
    if not settings.chroma_url:
        reader_locks.acquire(generation)
        manifest = read_manifest_file(generation) or manifest
    try:
        return OpenedIndex.open(settings, generation, manifest)
    except BaseException as exc:
        if not settings.chroma_url:
            reader_locks.release(generation)
        if isinstance(exc, IndexBuildError) and not isinstance(exc, IndexUnavailableError):
            raise _Unusable(str(exc)) from exc
        raise


def _check(
    settings: Settings, manifest: dict[str, Any], store: ChromaStore, embedder: Embedder,
    count: int,
) -> None:
    """Refuse an index whose collections disagree with its manifest or cannot be searched."""
    expected = sum(int(d.get("chunks", 0)) for d in manifest.get("documents", {}).values())
    # On a server a small update writes the live build while readers use it (the manifest,
    # marked first, still describes the previous revision): counts agree again after it.
    writing = bool(settings.chroma_url and manifest.get("updating_in_place"))
    if count != expected and not writing:
        raise IndexBuildError(f"index holds {count} chunks, its manifest {expected}")
    if not settings.chroma_url:
        marker = store.read_manifest() or {}
        if (marker.get("revision"), marker.get("build")) != (
            manifest.get("revision"), manifest.get("build")
        ):
            raise IndexBuildError("index revision marker disagrees with its manifest")
    if count:
        probe = embedder.encode_query("index check")
        for chunk_id, (text, metadata) in store.get_chunks(
            [c for c, _ in store.query_chunks(probe, 1)]
        ).items():
            unpack_sentences(chunk_id, str(metadata.get("text", text)), metadata)


def _lexical(
    generation: Path, manifest: dict[str, Any], store: ChromaStore, count: int
) -> LexicalIndex:
    """This revision's BM25 index: saved, or patched from the previous revision's with the
    chunks the update removed and added (listed in the manifest), or built."""
    build, revision = manifest.get("build", ""), manifest.get("revision", 0)
    path = generation / f"lexical-{build}-r{revision}"
    patch = manifest.get("patch") or {}
    previous = None
    if patch:
        added = [str(c) for c in patch.get("added", [])]
        previous = (
            generation / f"lexical-{build}-r{patch.get('revision')}",
            [str(c) for c in patch.get("removed", [])],
            lambda: store.get_texts(added),
        )
    index = LexicalIndex.cached(path, store.iter_texts, expected=count, patch=previous)
    for old in generation.glob("lexical-*"):
        if old != path:
            shutil.rmtree(old, ignore_errors=True)
    return index


class _Unusable(Exception):
    """The index opened but failed its checks: repair it (not a user error)."""


def _log_report(report: IndexReport) -> None:
    for source, reason in report.skipped:
        log.warning("skipped %s: %s", source, reason)
    for warning in report.warnings:
        log.warning("%s", warning)


def document_text(settings: Settings, name: str) -> str:
    """``qa.source_text``: an indexed document's indexed text (cached per index revision),
    else the text of a corpus file not (yet) indexed; ``name`` is already checked."""
    try:
        opened = open_index(settings, ensure_fresh=False)
    except QAError:
        opened = None  # no index yet: the file itself
    if opened is not None and name in opened.documents():
        return opened.source_text(name)
    root = settings.corpus_dir.resolve()
    try:
        path = (root / name).resolve()
        found = root in path.parents and path.is_file()
    except (OSError, ValueError, RuntimeError):  # a symlink loop, a name the OS refuses
        found = False
    if not found:
        raise QuestionError(f"no document {name!r} in the corpus; `python -m qa docs` lists them")
    try:
        return read_source_text(path)
    except Exception as exc:  # unreadable, or a PDF that no longer parses
        raise CorpusError(f"cannot read {name!r} ({type(exc).__name__}: {exc})") from exc
