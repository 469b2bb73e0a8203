"""Keep the index in step with the corpus: only changed documents are re-embedded.

The sync is LangChain's ``index()`` (incremental cleanup, ``source`` as the source id, sha256
keys) with a persistent ``SQLRecordManager``; a manifest of document hashes, file stats and
settings tells which files changed without reading them all.

Crash safety (local mode): a generation another process reads is never written. An update
then copies it to a new generation directory, applies the changes there, writes the manifest
last, and swaps the ``CURRENT`` pointer with an atomic rename; a rebuild starts from an empty
generation. A process killed at any point leaves the old index live and a directory without a
complete manifest, which the next writer deletes. Readers keep answering from the generation
they opened. Copying is O(index size), so a small update of a generation no other process reads
(every reading process holds a shared POSIX lock on it; see ``ReaderLocks``) is applied in
place: the manifest is marked first, LangChain's ``index()`` is idempotent, and the next sync
finishes an update that was cut off. The manifest also lists the chunks an update removed and
added, so readers patch their BM25 index instead of rebuilding it.

Server mode (``QA_CHROMA_URL``): the collections and the full manifest live on the Chroma
server, so every process using it agrees on what is indexed. Writes go to the live collections,
so the manifest is first marked incomplete; a writer that dies leaves it so, and the next sync
rebuilds. One writer at a time per index directory (an ``fcntl`` lock).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import shutil
import sqlite3
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from langchain_core.documents import Document

from qa.ingest.chunking import ChunkSettings, chunk_document
from qa.config import Settings
from qa.index.embedder import MODEL_NAME, LangChainEmbeddings, shared_embedder
from qa.errors import IndexBuildError
from qa.index.lexical import MAX_PATCH_SHARE
from qa.ingest.loaders import SkippedDocument, discover, file_sha256, load_document, sidecar_path
from qa.models import Chunk
from qa.ingest.roles import looks_injected
from qa.index.store import ChromaStore, chroma_client

log = logging.getLogger(__name__)

MANIFEST_VERSION = 3
KEEP_GENERATIONS = 3  # the live one and two before it (readers may still hold them)
IN_PLACE_MAX_SHARE = 0.1  # a bigger update (share of the chunks re-indexed) copies instead
READERS_LOCK = "readers.lock"
# How chunks and sentences are presented to the model (a change re-embeds everything).
EMBED_FORMAT = "section-prefix/v1;quotable/v1;late-chunked-sentences/v1"


@dataclass
class IndexReport:
    """What one sync did, for the CLI summary and the UI."""

    documents: int = 0
    chunks: int = 0
    added: int = 0
    deleted: int = 0
    changed_sources: list[str] = field(default_factory=list)
    removed_sources: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    rebuilt: bool = False
    repaired: str | None = None  # why the live index was unusable, when it was
    seconds: float = 0.0

    def summary(self) -> str:
        lines = [f"repaired: {self.repaired}"] if self.repaired else []
        lines += [
            f"indexed {self.documents} documents, {self.chunks} chunks "
            f"({self.added} embedded, {self.deleted} removed"
            f"{', full rebuild' if self.rebuilt else ''}) in {self.seconds:.1f}s"
        ]
        if self.changed_sources:
            lines.append("updated: " + ", ".join(self.changed_sources))
        if self.removed_sources:
            lines.append("removed: " + ", ".join(self.removed_sources))
        if self.skipped:
            lines.append(f"skipped {len(self.skipped)} file(s):")
            lines.extend(f"  {source}: {reason}" for source, reason in self.skipped)
        lines.extend(f"warning: {w}" for w in self.warnings)
        return "\n".join(lines)


def settings_fingerprint(settings: Settings) -> dict[str, str]:
    """What, when changed, invalidates every vector: model, chunking, embedding format."""
    return {
        "model": MODEL_NAME,
        "chunking": chunk_settings(settings).fingerprint(),
        "embed_format": EMBED_FORMAT,
    }


def chunk_settings(settings: Settings) -> ChunkSettings:
    return ChunkSettings(max_chars=settings.chunk_chars)


def embed_text(chunk_text: str, section: str | None) -> str:
    """The text the model sees for a chunk: its section heading gives it context."""
    return f"{section}: {chunk_text}" if section else chunk_text


# --- where an index lives ----------------------------------------------------------------


class IndexLocation:
    """The index directory: generations of Chroma data, a CURRENT pointer, a writer lock.

    In server mode (``QA_CHROMA_URL``) the collections and the manifest live on the server; the
    record manager and the lock stay in a fixed directory under the index directory.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.root = settings.index_dir
        self.server = settings.chroma_url

    @property
    def pointer(self) -> Path:
        return self.root / "CURRENT"

    def server_dir(self) -> Path:
        return self.root / "server" / _safe_name(self.server or "")

    def current(self) -> Path | None:
        """The live generation directory, or None when there is none."""
        if self.server:
            return self.server_dir()
        try:
            name = self.pointer.read_text(encoding="utf-8").strip()
        except (FileNotFoundError, NotADirectoryError, UnicodeDecodeError):
            return None
        path = self.root / name
        return path if name.startswith("gen-") and path.is_dir() else None

    def new_generation(self, copy_of: Path | None = None) -> Path:
        """A fresh generation directory: empty, or a consistent copy of ``copy_of``."""
        if self.server:
            path = self.server_dir()
            if copy_of is None:
                shutil.rmtree(path, ignore_errors=True)
            path.mkdir(parents=True, exist_ok=True)
            return path
        path = self.root / f"gen-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"
        path.mkdir(parents=True)
        if copy_of is not None:
            _copy_generation(copy_of, path)
        return path

    def publish(self, generation: Path) -> None:
        """Point readers at ``generation`` atomically, then remove old generations (the
        newest few stay: a reader may still hold one open)."""
        if self.server:
            return
        tmp = self.root / f".CURRENT.{os.getpid()}"
        tmp.write_text(generation.name, encoding="utf-8")
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, self.pointer)
        complete = sorted(
            (g for g in self.root.glob("gen-*") if _complete_manifest(g)),
            key=lambda g: g.stat().st_mtime_ns, reverse=True,
        )
        for old in complete[KEEP_GENERATIONS:]:
            if old != generation:
                shutil.rmtree(old, ignore_errors=True)

    def remove_debris(self) -> list[str]:
        """Delete what killed writers left: generations without a complete manifest and
        temporary pointer files. Call only while holding the writer lock."""
        removed: list[str] = []
        if self.server or not self.root.is_dir():
            return removed
        live = self.current()
        for path in self.root.glob("gen-*"):
            if path != live and not _complete_manifest(path):
                shutil.rmtree(path, ignore_errors=True)
                removed.append(path.name)
        for tmp in self.root.glob(".CURRENT.*"):
            tmp.unlink(missing_ok=True)
        return removed

    @contextlib.contextmanager
    def writer_lock(self, *, wait: bool = True) -> Iterator[bool]:
        """One writer at a time, across processes and threads; a crashed holder's lock dies
        with it. Yields False (without the lock) when ``wait`` is off and another writer runs."""
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".lock", "w") as fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)


class ReaderLocks:
    """Which generations this process reads: a shared POSIX lock on each one's
    ``readers.lock``, which a writer in another process can test. POSIX locks belong to the
    process (its own shared lock does not stop it from writing), and closing any descriptor of
    the file drops them, so one descriptor per generation is kept here."""

    def __init__(self) -> None:
        self._fds: dict[Path, int] = {}
        self._holders: dict[Path, int] = {}
        self._writing: set[Path] = set()
        self._cond = threading.Condition()

    def acquire(self, generation: Path) -> None:
        """Read ``generation``: waits while a writer (this process or another) updates it."""
        with self._cond:
            while generation in self._writing:
                self._cond.wait()
            if generation not in self._fds:
                fd = os.open(generation / READERS_LOCK, os.O_RDWR | os.O_CREAT, 0o644)
                fcntl.lockf(fd, fcntl.LOCK_SH)
                self._fds[generation] = fd
            self._holders[generation] = self._holders.get(generation, 0) + 1

    def release(self, generation: Path) -> None:
        with self._cond:
            left = self._holders.get(generation, 0) - 1
            if left > 0:
                self._holders[generation] = left
                return
            self._holders.pop(generation, None)
            fd = self._fds.pop(generation, None)
            if fd is not None and generation not in self._writing:
                os.close(fd)

    @contextlib.contextmanager
    def exclusive(self, generation: Path) -> Iterator[bool]:
        """Yield True while this process alone uses ``generation`` (its readers wait), or
        False at once when another process reads it."""
        with self._cond:
            fd = self._fds.get(generation)
            if fd is None:
                fd = os.open(generation / READERS_LOCK, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                if generation not in self._fds:
                    os.close(fd)
                fd = -1
            else:
                self._fds[generation] = fd
                self._writing.add(generation)
        if fd < 0:
            yield False
            return
        try:
            yield True
        finally:
            with self._cond:
                self._writing.discard(generation)
                if self._holders.get(generation):
                    fcntl.lockf(fd, fcntl.LOCK_SH)
                else:
                    self._fds.pop(generation, None)
                    os.close(fd)
                self._cond.notify_all()


reader_locks = ReaderLocks()


def _safe_name(url: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in url)


def _complete_manifest(generation: Path) -> bool:
    return bool((read_json(generation / "manifest.json") or {}).get("complete"))


def _copy_generation(src: Path, dst: Path) -> None:
    """Copy a generation; SQLite files through the backup API so the copy is consistent."""
    for path in src.rglob("*"):
        target = dst / path.relative_to(src)
        if path.is_dir():
            target.mkdir(parents=True, exist_ok=True)
        elif path.name == "manifest.json" or path.name.startswith("."):
            continue
        elif path.suffix in (".sqlite", ".sqlite3"):
            target.parent.mkdir(parents=True, exist_ok=True)
            source_db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
            target_db = sqlite3.connect(target)
            try:
                source_db.backup(target_db)
            finally:
                source_db.close()
                target_db.close()
        elif not path.name.endswith(("-journal", "-wal", "-shm")):
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)


def open_store(
    settings: Settings, generation: Path, embeddings: LangChainEmbeddings
) -> ChromaStore:
    path = None if settings.chroma_url else generation / "chroma"
    client = chroma_client(settings.chroma_url, path)
    return ChromaStore(client, embeddings)


_server_stores: dict[str, ChromaStore] = {}


def server_store(settings: Settings) -> ChromaStore:
    """One store per Chroma server URL and process (the manifest is read per question)."""
    assert settings.chroma_url
    store = _server_stores.get(settings.chroma_url)
    if store is None:
        store = open_store(
            settings, Path("."), LangChainEmbeddings(shared_embedder(), settings.embed_batch_size)
        )
        _server_stores[settings.chroma_url] = store
    return store


def _record_manager(generation: Path) -> Any:
    from langchain_classic.indexes import SQLRecordManager

    manager = SQLRecordManager(
        "chroma/chunks", db_url=f"sqlite:///{generation / 'records.sqlite'}"
    )
    manager.create_schema()
    return manager


# --- staleness --------------------------------------------------------------------------


def read_live_manifest(settings: Settings) -> dict[str, Any] | None:
    """The manifest of the live index, or None when there is no index to read.

    Local mode: ``manifest.json`` of the generation ``CURRENT`` names. Server mode: the manifest
    stored on the Chroma server beside the collections (None when the server is unreachable).
    """
    if settings.chroma_url:
        try:
            return server_store(settings).read_manifest()
        except Exception as exc:  # unreachable server: the caller reports a clear error
            log.warning("cannot read the manifest from %s: %s", settings.chroma_url, exc)
            _server_stores.pop(settings.chroma_url, None)
            return None
    generation = IndexLocation(settings).current()
    return None if generation is None else read_json(generation / "manifest.json")


_json_cache: dict[Path, tuple[tuple[int, int], dict[str, Any]]] = {}


def read_json(path: Path) -> dict[str, Any] | None:
    """A JSON object from disk, parsed again only when the file's stat changes (every question
    reads the live manifest; manifests are written whole by an atomic rename)."""
    try:
        st = path.stat()
        stamp = (st.st_mtime_ns, st.st_size)
        cached = _json_cache.get(path)
        if cached and cached[0] == stamp:
            return dict(cached[1])
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    if not isinstance(data, dict):
        return None
    _json_cache[path] = (stamp, data)
    return dict(data)


def is_complete(manifest: dict[str, Any] | None, settings: Settings) -> bool:
    """A finished index built with these settings (it may still be stale)."""
    return bool(
        manifest
        and manifest.get("complete")
        and manifest.get("version") == MANIFEST_VERSION
        and manifest.get("settings") == settings_fingerprint(settings)
    )


def stat_key(path: Path) -> list[int]:
    """Size and mtime of a file and of its sidecar: when these hold, the file is unchanged."""
    st = path.stat()
    try:
        meta = sidecar_path(path).stat()
        side = [meta.st_size, meta.st_mtime_ns]
    except OSError:
        side = [-1, -1]
    return [st.st_size, st.st_mtime_ns, *side]


def is_stale(settings: Settings, manifest: dict[str, Any] | None) -> bool:
    """True when the corpus or settings differ from what the manifest records (cheap: stat
    first, hash only files whose size or mtime moved; skipped files are compared by stat)."""
    if not is_complete(manifest, settings):
        return True
    assert manifest is not None
    if manifest.get("updating_in_place"):  # being written, or cut off: the sync finishes it
        return True
    files, _ = discover(settings.corpus_dir)
    known: dict[str, Any] = manifest.get("documents", {})
    skipped: dict[str, Any] = manifest.get("skipped_files", {})
    current = {p.relative_to(settings.corpus_dir).as_posix(): p for p in files}
    if set(current) != set(known) | set(skipped):
        return True
    for source, path in current.items():
        entry: dict[str, Any] = known.get(source) or skipped.get(source) or {}
        try:
            if entry.get("stat") == stat_key(path):
                continue
            if source in skipped or file_sha256(path) != entry.get("sha256"):
                return True
        except OSError:
            return True  # it vanished or became unreadable: let the sync record why
    return False


# --- the sync ---------------------------------------------------------------------------


def sync_index(
    settings: Settings,
    *,
    rebuild: bool = False,
    progress: bool = True,
    wait: bool = True,
    repair_build: str | None = None,
) -> IndexReport | None:
    """Bring the index up to date with the corpus; see the module docstring.

    ``wait=False`` returns None at once when another writer holds the lock (a reader then keeps
    answering from the live index). ``repair_build`` rebuilds only if the live index is still
    the build of that id (another process may have repaired it meanwhile).
    """
    started = time.perf_counter()
    location = IndexLocation(settings)
    with location.writer_lock(wait=wait) as locked:
        if not locked:
            return None
        if repair_build is not None:
            live = read_live_manifest(settings)
            rebuild = bool(live and live.get("build") == repair_build)
        report = _sync_locked(settings, location, rebuild=rebuild, progress=progress)
    report.seconds = time.perf_counter() - started
    return report


@dataclass
class _Plan:
    """What a sync has to do, worked out before anything is written."""

    documents: dict[str, Any] = field(default_factory=dict)  # manifest entries after the sync
    skipped_files: dict[str, Any] = field(default_factory=dict)
    to_index: list[tuple[str, list[Chunk]]] = field(default_factory=list)
    to_delete: list[str] = field(default_factory=list)

    @property
    def writes(self) -> bool:
        return bool(self.to_index or self.to_delete)


def _verify_live(
    settings: Settings, location: IndexLocation, embeddings: LangChainEmbeddings
) -> tuple[Path, dict[str, Any]] | str:
    """The live generation and its manifest when they are whole and agree, else why not."""
    manifest = read_live_manifest(settings)
    generation = location.current()
    if generation is None or manifest is None:
        return "no index yet" if manifest is None else "index directory missing"
    if not manifest.get("complete"):
        return "an earlier update did not finish"
    if manifest.get("version") != MANIFEST_VERSION or manifest.get(
        "settings"
    ) != settings_fingerprint(settings):
        return "model, chunking or index format changed"
    if not (generation / "records.sqlite").is_file():
        return "record manager database missing"
    if manifest.get("updating_in_place"):
        # An in-place update was cut off: its documents still look changed, so this sync
        # redoes them (index() skips what was written); counts agree only after that.
        return generation, manifest
    try:
        store = open_store(settings, generation, embeddings)
        count = store.count()
        stored = store.read_manifest() or {}
    except Exception as exc:  # a corrupt Chroma file surfaces as any exception type
        return f"the Chroma index cannot be read ({type(exc).__name__}: {exc})"
    expected = sum(int(d.get("chunks", 0)) for d in manifest.get("documents", {}).values())
    if count != expected:
        return f"manifest lists {expected} chunks but the collection holds {count}"
    if (stored.get("revision"), stored.get("build")) != (
        manifest.get("revision"), manifest.get("build")
    ):
        return "manifest and collection revisions disagree"
    return generation, manifest


def _plan(
    settings: Settings,
    files: list[Path],
    known: dict[str, Any],
    known_skipped: dict[str, Any],
    report: IndexReport,
) -> _Plan:
    """Read what changed (and only that), chunk it, and record every file's fate."""
    plan = _Plan()
    for path in files:
        source = path.relative_to(settings.corpus_dir).as_posix()
        try:
            key = stat_key(path)
            entry: dict[str, Any] = known.get(source) or {}
            if entry.get("stat") == key:
                plan.documents[source] = entry
                continue
            old_skip = known_skipped.get(source) or {}
            if old_skip.get("stat") == key:  # still the same bad file: do not read it again
                plan.skipped_files[source] = old_skip
                report.skipped.append((source, str(old_skip.get("reason", "skipped before"))))
                continue
            if entry and entry.get("sha256") == file_sha256(path):
                plan.documents[source] = {**entry, "stat": key}
                continue
            doc = load_document(path, settings.corpus_dir)
            chunks = chunk_document(doc, chunk_settings(settings))
        except SkippedDocument as exc:
            report.skipped.append((source, str(exc)))
            with contextlib.suppress(OSError):
                plan.skipped_files[source] = {"stat": stat_key(path), "reason": str(exc)}
            continue
        except OSError as exc:  # vanished or unreadable between the scan and now
            report.skipped.append((source, f"cannot read: {exc.strerror or exc}"))
            continue
        report.warnings.extend(doc.warnings)
        plan.documents[source] = {
            "sha256": doc.sha256, "stat": key,
            "title": doc.meta.title, "chunks": len(chunks), "date": doc.meta.date,
            "author": doc.meta.author, "url": doc.meta.url,
        }
        plan.to_index.append((source, chunks))
        report.changed_sources.append(source)
    report.removed_sources = sorted(set(known) - set(plan.documents))
    plan.to_delete = report.removed_sources  # changed ones are cleaned up by index() itself
    return plan


def _sync_locked(
    settings: Settings, location: IndexLocation, *, rebuild: bool, progress: bool
) -> IndexReport:
    report = IndexReport()
    files, skipped_walk = discover(settings.corpus_dir)
    report.skipped.extend(skipped_walk)
    location.remove_debris()
    embeddings = LangChainEmbeddings(shared_embedder(), batch_size=settings.embed_batch_size)
    live: tuple[Path, dict[str, Any]] | None = None
    if not rebuild:
        verdict = _verify_live(settings, location, embeddings)
        if isinstance(verdict, str):
            if verdict != "no index yet":
                report.repaired = verdict
                log.warning("the live index is unusable (%s); rebuilding it", verdict)
        else:
            live = verdict
    old = live[1] if live else {}
    known = dict(old.get("documents", {}))
    for source in (old.get("updating_in_place") or {}).get("sources", []):
        if source in known:  # cut off mid-update: redo it whatever the file's stat says
            known[source] = {**known[source], "stat": None, "sha256": None}
    plan = _plan(settings, files, known, old.get("skipped_files", {}), report)
    if live is not None and not plan.writes:
        # Nothing to embed: refresh file stats in place, same build and revision.
        if plan.documents != old.get("documents") or plan.skipped_files != old.get(
            "skipped_files"
        ) or report.skipped != old.get("skipped"):
            manifest = {**old, "documents": plan.documents, "skipped_files": plan.skipped_files,
                        "skipped": report.skipped}
            _write_manifest(settings, live[0], manifest, None)
        return _finish(report, plan)

    report.rebuilt = live is None
    build = str(old.get("build")) if live else uuid.uuid4().hex
    if settings.chroma_url:
        generation = location.new_generation(copy_of=live[0] if live else None)
        store = open_store(settings, generation, embeddings)
        if live is None:
            store.drop_all()
            store = open_store(settings, generation, embeddings)
        else:  # writes go to the live collections: say so first
            store.write_manifest({**old, "complete": False, "updating_since": _now()})
        manifest = _update(settings, generation, store, plan, old, build, embeddings, report,
                           progress)
        _write_manifest(settings, generation, manifest, store)
        return _finish(report, plan)
    if live is not None and _in_place_allowed(plan, old):
        with reader_locks.exclusive(live[0]) as alone:
            if alone:
                generation = live[0]
                sources = sorted({s for s, _ in plan.to_index} | set(plan.to_delete))
                _write_json(generation / "manifest.json", {
                    **old, "updating_in_place": {"since": _now(), "sources": sources},
                })
                store = open_store(settings, generation, embeddings)
                manifest = _update(
                    settings, generation, store, plan, old, build, embeddings, report, progress
                )
                _write_manifest(settings, generation, manifest, store)
                return _finish(report, plan)
    # A rebuild, or an update too large or of a generation another process reads: a new one.
    generation = location.new_generation(copy_of=live[0] if live else None)
    store = open_store(settings, generation, embeddings)
    manifest = _update(settings, generation, store, plan, old, build, embeddings, report, progress)
    _write_manifest(settings, generation, manifest, store)
    location.publish(generation)
    return _finish(report, plan)


def _in_place_allowed(plan: _Plan, old: dict[str, Any]) -> bool:
    total = sum(int(d.get("chunks", 0)) for d in old.get("documents", {}).values())
    touched = sum(len(chunks) for _, chunks in plan.to_index) + sum(
        int(old.get("documents", {}).get(s, {}).get("chunks", 0)) for s in plan.to_delete
    )
    return touched <= IN_PLACE_MAX_SHARE * total


def _update(
    settings: Settings,
    generation: Path,
    store: ChromaStore,
    plan: _Plan,
    old: dict[str, Any],
    build: str,
    embeddings: LangChainEmbeddings,
    report: IndexReport,
    progress: bool,
) -> dict[str, Any]:
    """Apply ``plan`` to the store and return the manifest describing the result, with the
    chunk ids removed and added when readers can patch their BM25 index with them."""
    record_manager = _record_manager(generation)
    touched = [source for source, _ in plan.to_index] + plan.to_delete
    before = _keys(record_manager, touched)
    _apply(plan, store, record_manager, embeddings, report, progress)
    after = _keys(record_manager, touched)
    revision = int(old.get("revision", 0)) + 1
    manifest = {
        "version": MANIFEST_VERSION,
        "complete": True,
        "build": build,
        "revision": revision,
        "settings": settings_fingerprint(settings),
        "corpus_dir": str(settings.corpus_dir),
        "indexed_at": _now(),
        "documents": plan.documents,
        "skipped_files": plan.skipped_files,
        "skipped": report.skipped,
    }
    total = sum(int(d.get("chunks", 0)) for d in plan.documents.values())
    removed, added = sorted(before - after), sorted(after - before)
    if old and not old.get("updating_in_place") and (
        len(removed) + len(added) <= MAX_PATCH_SHARE * max(1, total)  # else BM25 is rebuilt
    ):
        manifest["patch"] = {"revision": revision - 1, "removed": removed, "added": added}
    return manifest


def _keys(record_manager: Any, sources: list[str]) -> set[str]:
    keys: set[str] = set()
    for source in sources:
        keys.update(record_manager.list_keys(group_ids=[source]))
    return keys


def _apply(
    plan: _Plan,
    store: ChromaStore,
    record_manager: Any,
    embeddings: LangChainEmbeddings,
    report: IndexReport,
    progress: bool,
) -> None:
    from langchain_core.indexing import index

    bar = _progress(sum(len(chunks) for _, chunks in plan.to_index), progress)
    embeddings.progress = bar
    try:
        for group in _groups(plan.to_index):
            documents = [[_chunk_document(c) for c in chunks] for _, chunks in group]
            # Embed the group's new chunks together, in full length-sorted model batches.
            fresh = [d for docs in documents for d in docs]
            known = record_manager.exists([record_id(d) for d in fresh])
            store.chunks.embed_ahead([d for d, seen in zip(fresh, known, strict=True) if not seen])
            for docs in documents:
                # One index() batch per document: incremental cleanup runs after every batch
                # and would delete (and so re-embed) the document's unchanged later chunks.
                result = index(
                    docs, record_manager, store.chunks,
                    cleanup="incremental", source_id_key="source", key_encoder=record_id,
                    batch_size=max(1, len(docs)),
                )
                report.added += result["num_added"]
                report.deleted += result["num_deleted"]
            # Kept chunks (same text, so same id and vectors) may have moved: new offsets.
            store.chunks.move([d for d, seen in zip(fresh, known, strict=True) if seen])
        for source in plan.to_delete:
            report.deleted += _delete_source(source, store, record_manager)
    except Exception as exc:
        raise IndexBuildError(f"indexing failed ({type(exc).__name__}: {exc}); "
                              "the index still answers; the next sync retries") from exc
    finally:
        if bar is not None:
            bar.close()
        embeddings.progress = None


GROUP_CHUNKS = 2048  # chunks of several documents embedded together (~10 MB of vectors)


def _groups(to_index: list[tuple[str, list[Chunk]]]) -> Iterator[list[tuple[str, list[Chunk]]]]:
    group: list[tuple[str, list[Chunk]]] = []
    size = 0
    for item in to_index:
        group.append(item)
        size += len(item[1])
        if size >= GROUP_CHUNKS:
            yield group
            group, size = [], 0
    if group:
        yield group


def _write_manifest(
    settings: Settings, generation: Path, manifest: dict[str, Any], store: ChromaStore | None
) -> None:
    """Local: a revision marker in the store, the manifest file last. Server: all of it in the
    store (where every process reads it) and a copy on disk for inspection."""
    if settings.chroma_url:
        (store or server_store(settings)).write_manifest(manifest)
    elif store is not None:
        store.write_manifest({"revision": manifest["revision"], "build": manifest["build"]})
    _write_json(generation / "manifest.json", manifest)


def _finish(report: IndexReport, plan: _Plan) -> IndexReport:
    report.documents = len(plan.documents)
    report.chunks = sum(int(d.get("chunks", 0)) for d in plan.documents.values())
    return report


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _delete_source(source: str, store: ChromaStore, record_manager: Any) -> int:
    deleted = 0
    while keys := record_manager.list_keys(group_ids=[source], limit=1000):
        store.chunks.delete(keys)
        record_manager.delete_keys(keys)
        deleted += len(keys)
    return deleted


def record_id(doc: Document) -> str:
    """The Chroma id of a chunk: its sha256 content hash (which covers its text, span, title
    and section). LangChain's default key hashes the same things, but ids we can derive let
    readers fetch records by id instead of by filter."""
    return str(doc.metadata["chunk_id"])


def _chunk_document(chunk: Chunk) -> Document:
    return Document(
        page_content=embed_text(chunk.text, chunk.section),
        metadata={
            "chunk_id": chunk.id, "source": chunk.source, "title": chunk.title,
            "section": chunk.section or "", "start": chunk.start, "end": chunk.end,
            "text": chunk.text, "sentences": len(chunk.sentences),
            "quotes": json.dumps(_quotes(chunk)),
        },
    )


def quotable(chunk: Chunk) -> list[int]:
    """Positions of the sentences an answer may quote: not those phrased as instructions to an
    assistant ("ignore previous instructions", "<script>", ...). They stay in the chunk, so
    they can be found and shown as a passage, but an answer never speaks them."""
    return [i for i, s in enumerate(chunk.sentences) if not looks_injected(s.text)]


def _quotes(chunk: Chunk) -> list[tuple[int, int, int, int]]:
    """Each quotable sentence as (raw start, raw end, start and end in the chunk text); the
    chunk text is its sentences joined by single spaces."""
    spans, at = [], 0
    keep = set(quotable(chunk))
    for i, sentence in enumerate(chunk.sentences):
        if i in keep:
            spans.append((sentence.start, sentence.end, at, at + len(sentence.text)))
        at += len(sentence.text) + 1
    return spans


def _progress(total: int, enabled: bool) -> Any:
    if not enabled or total == 0:
        return None
    from tqdm import tqdm

    return tqdm(total=total, desc="embedding", unit="chunk", file=sys.stderr, leave=False)


def _write_json(path: Path, data: dict[str, Any]) -> None:
    """Write atomically: a crash leaves the old file or the new one, never half of one."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=1), encoding="utf-8")
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, path)
