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
(every reading process holds a shared POSIX lock on it; see ``qa.index.locks``) is applied in
place: the manifest is marked first, LangChain's ``index()`` is idempotent, and the next sync
finishes an update that was cut off. The manifest also lists the chunks an update removed and
added, so readers patch their BM25 index instead of rebuilding it.

Server mode (``QA_CHROMA_URL``): the collections, the manifest and the sync state (LangChain's
record manager, ``qa.index.server_records``) live on the Chroma server, so every process using
it agrees on what is indexed and any of them, even with an empty index directory, can run an
incremental sync. A rebuild fills a new build's collections beside the live ones and switches
readers with one upsert of the manifest record; the build before the previous one is dropped
right after the switch (readers still on the previous build keep answering). A small update
is applied to the live build, the manifest marked first (``updating_in_place``), as in local
mode. One writer at a time across hosts: a lease on the server with a fencing token
(``qa.index.lease``), checked again before every manifest write.

Beside this module: ``generations`` (directories, the pointer, publishing), ``locks``,
``manifest`` (fingerprint, staleness), ``records`` (a chunk as a LangChain document), ``store``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from qa.config import Settings
from qa.errors import (
    IndexBuildError,
    IndexBusyError,
    IndexUnavailableError,
    MassRemovalError,
    QAError,
)
from qa.index.embedder import LangChainEmbeddings, shared_embedder
from qa.index.generations import IndexLocation, write_manifest_file
from qa.index.lease import ServerLease, writer_lease
from qa.index.lexical import MAX_PATCH_SHARE
from qa.index.locks import reader_locks, writer_lock
from qa.index.manifest import (
    MANIFEST_VERSION,
    chunk_settings,
    is_stale,
    read_live_manifest,
    settings_fingerprint,
    stat_key,
    write_manifest,
)
from qa.index.records import chunk_record, record_id
from qa.index.server_records import ChromaRecordManager
from qa.index.store import (
    ChromaStore,
    build_collections,
    chroma_failures,
    drop_builds,
    is_missing_collection,
    manifest_collections,
    open_store,
    read_server_manifest,
    server_client,
    write_server_manifest,
)
from qa.index.texts import source_texts
from qa.ingest.annotate import annotate_chunks
from qa.ingest.chunking import chunk_document
from qa.ingest.loaders import SkippedDocument, discover, file_sha256, load_document
from qa.models import Chunk

# ``is_stale``, ``read_live_manifest`` and ``stat_key`` live in ``qa.index.manifest``; they are
# importable from here too while ``qa.api`` imports them with the sync.
__all__ = ["IndexReport", "is_stale", "read_live_manifest", "stat_key", "sync_index"]

log = logging.getLogger(__name__)

IN_PLACE_MAX_SHARE = 0.1  # a bigger update (share of the chunks re-indexed) copies instead


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


# --- the sync ---------------------------------------------------------------------------


def sync_index(
    settings: Settings,
    *,
    rebuild: bool = False,
    progress: bool = True,
    wait: bool = True,
    repair_build: str | None = None,
    allow_mass_removal: bool = False,
) -> IndexReport | None:
    """Bring the index up to date with the corpus; see the module docstring.

    ``wait=False`` returns None at once when another writer holds the lock (a reader then keeps
    answering from the live index). ``repair_build`` rebuilds only if the live index is still
    the build of that id (another process may have repaired it meanwhile). A sync that would
    remove most of the indexed documents raises ``MassRemovalError`` and changes nothing,
    unless ``allow_mass_removal``.
    """
    started = time.perf_counter()
    location = IndexLocation(settings)
    with writer_lock(settings.index_dir, wait=wait) as locked:
        if not locked:
            return None
        leased: Any = (writer_lease(settings, wait=wait) if settings.chroma_url
                       else contextlib.nullcontext())
        with leased as lease:
            if settings.chroma_url and lease is None:
                return None  # another host's writer holds the server's lease
            if repair_build is not None:
                live = read_live_manifest(settings)
                rebuild = bool(live and live.get("build") == repair_build)
            if lease is not None:
                report = _sync_server(settings, location, lease, rebuild=rebuild,
                                      progress=progress, allow_mass_removal=allow_mass_removal)
            else:
                report = _sync_locked(settings, location, rebuild=rebuild, progress=progress,
                                      allow_mass_removal=allow_mass_removal)
    report.seconds = time.perf_counter() - started
    return report


@dataclass
class _Plan:
    """What a sync has to do, worked out before anything is written."""

    documents: dict[str, Any] = field(default_factory=dict)  # manifest entries after the sync
    skipped_files: dict[str, Any] = field(default_factory=dict)
    # chunks to write, not yet annotated (the spaCy pass runs beside the embedding)
    to_index: list[tuple[str, list[Chunk]]] = field(default_factory=list)
    context: dict[str, tuple[str | None, tuple[str, ...]]] = field(default_factory=dict)
    to_delete: list[str] = field(default_factory=list)
    texts: dict[str, str] = field(default_factory=dict)  # sha256 -> source text, as chunked

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
    stale = _outdated(manifest, settings)
    if stale:
        return stale
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
    except IndexUnavailableError:  # a full disk, a server down: not damage, rebuild nothing
        raise
    except IndexBuildError as exc:  # damaged files (a panic included), as the store words it
        return str(exc).split("; it is rebuilt")[0]
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
            "author": doc.meta.author, "publisher": doc.meta.publisher, "url": doc.meta.url,
        }
        plan.to_index.append((source, chunks))
        plan.context[source] = (
            doc.meta.title, tuple(dict.fromkeys(p.section for p in doc.paragraphs if p.section))
        )
        plan.texts[doc.sha256] = doc.text
        report.changed_sources.append(source)
    report.removed_sources = sorted(set(known) - set(plan.documents))
    plan.to_delete = report.removed_sources  # changed ones are cleaned up by index() itself
    return plan


def _sync_locked(
    settings: Settings, location: IndexLocation, *, rebuild: bool, progress: bool,
    allow_mass_removal: bool = False,
) -> IndexReport:
    report = IndexReport()
    files, skipped_walk = discover(
        settings.corpus_dir, follow_outside=settings.follow_outside_symlinks
    )
    report.skipped.extend(skipped_walk)
    location.remove_debris()
    embeddings = LangChainEmbeddings(shared_embedder(), batch_size=settings.embed_batch_size)
    live: tuple[Path, dict[str, Any]] | None = None
    if not rebuild:
        live = _usable(_verify_live(settings, location, embeddings), report, "the live index")
    old = live[1] if live else {}
    known = _known_documents(old)
    plan = _plan(settings, files, known, old.get("skipped_files", {}), report)
    if not allow_mass_removal:  # a rebuild or repair is checked against the live manifest too
        before = known if live is not None else (read_live_manifest(settings) or {}).get(
            "documents", {}
        )
        _check_removals(settings, sorted(set(before) - set(plan.documents)), before)
    if live is not None and not plan.writes:
        # Nothing to embed: refresh file stats in place, same build and revision.
        if plan.documents != old.get("documents") or plan.skipped_files != old.get(
            "skipped_files"
        ) or report.skipped != old.get("skipped"):
            manifest = {**old, "documents": plan.documents, "skipped_files": plan.skipped_files,
                        "skipped": report.skipped}
            write_manifest(settings, live[0], manifest, None)
        return _finish(report, plan)

    report.rebuilt = live is None
    build = str(old.get("build")) if live else uuid.uuid4().hex
    if live is not None and _in_place_allowed(plan, old):
        with reader_locks.exclusive(live[0]) as alone:
            if alone:
                generation = live[0]
                sources = sorted({s for s, _ in plan.to_index} | set(plan.to_delete))
                _check_free_space(generation, plan)
                before = _keys(_record_manager(generation), sources)
                previous = _keep_previous_manifest(generation)
                try:
                    write_manifest_file(generation, {
                        **old, "updating_in_place": {"since": _now(), "sources": sources},
                    })
                    store = open_store(settings, generation, embeddings)
                    manifest = _update(
                        settings, generation, store, _record_manager(generation), plan, old,
                        build, report, progress,
                    )
                    write_manifest(settings, generation, manifest, store)
                except BaseException as exc:
                    if not old.get("updating_in_place"):
                        _roll_back(settings, generation, embeddings, old, sources, before,
                                   previous)
                    if isinstance(exc, OSError):
                        raise IndexBuildError(
                            f"the update failed ({exc.strerror or exc}); the index still "
                            "answers; the next sync retries"
                        ) from exc
                    raise
                finally:
                    if previous is not None:
                        previous.unlink(missing_ok=True)
                _prune_texts(settings, generation, manifest, old)
                return _finish(report, plan)
    # A rebuild, or an update too large or of a generation another process reads: a new one.
    generation = location.new_generation(copy_of=live[0] if live else None)
    store = open_store(settings, generation, embeddings)
    manifest = _update(settings, generation, store, _record_manager(generation), plan, old,
                       build, report, progress)
    write_manifest(settings, generation, manifest, store)
    _prune_texts(settings, generation, manifest, old)
    location.publish(generation)
    return _finish(report, plan)


# --- server mode -----------------------------------------------------------------------


def _outdated(manifest: dict[str, Any], settings: Settings) -> str | None:
    """Why a manifest cannot be updated in place, in either mode (else None)."""
    if not manifest.get("complete"):
        return "an earlier update did not finish"
    if manifest.get("version") != MANIFEST_VERSION or manifest.get(
        "settings"
    ) != settings_fingerprint(settings):
        return "model, chunking or index format changed"
    return None


_T = TypeVar("_T")


def _usable(verdict: _T | str, report: IndexReport, what: str) -> _T | None:
    """The verified live index, or None (rebuild) with the reason recorded when it is not
    usable; a missing index is simply built."""
    if not isinstance(verdict, str):
        return verdict
    if verdict != "no index yet":
        report.repaired = verdict
        log.warning("%s is unusable (%s); rebuilding it", what, verdict)
    return None


def _known_documents(old: dict[str, Any]) -> dict[str, Any]:
    """The documents an old manifest lists; those a cut-off update was writing are marked
    changed, so the sync redoes them whatever their file's stat says."""
    known = dict(old.get("documents", {}))
    for source in (old.get("updating_in_place") or {}).get("sources", []):
        if source in known:
            known[source] = {**known[source], "stat": None, "sha256": None}
    return known


def _verify_server(settings: Settings, embeddings: LangChainEmbeddings) -> dict[str, Any] | str:
    """The server's live manifest when its build's collections are whole and agree, else why
    not (the verdicts of ``_verify_live``)."""
    manifest = read_live_manifest(settings)
    if manifest is None:
        return "no index yet"
    stale = _outdated(manifest, settings)
    if stale:
        return stale
    if not isinstance(manifest.get("collections"), dict):
        return "the index on the server predates per-build collections"
    names = manifest_collections(manifest)
    records = _server_records(settings, names["records"])
    if not records.exists_collection():
        return f"record manager collection {names['records']} missing"
    if manifest.get("updating_in_place"):  # cut off: this sync redoes its documents
        return manifest
    try:
        count = open_store(settings, Path("."), embeddings, collection=names["chunks"]).count()
        recorded = records.count()
    except IndexUnavailableError as exc:
        if is_missing_collection(exc.__cause__ or exc) or "is not on the Chroma" in str(exc):
            return f"chunk collection {names['chunks']} missing"
        raise  # the server is down: not damage, rebuild nothing
    expected = sum(int(d.get("chunks", 0)) for d in manifest.get("documents", {}).values())
    if count != expected:
        return f"manifest lists {expected} chunks but the collection holds {count}"
    if recorded != count:
        return f"the record manager lists {recorded} chunks but the collection holds {count}"
    return manifest


def _sync_server(
    settings: Settings, location: IndexLocation, lease: ServerLease, *, rebuild: bool,
    progress: bool, allow_mass_removal: bool = False,
) -> IndexReport:
    """``_sync_locked`` for a Chroma server, holding its writer lease."""
    report = IndexReport()
    files, skipped_walk = discover(
        settings.corpus_dir, follow_outside=settings.follow_outside_symlinks
    )
    report.skipped.extend(skipped_walk)
    embeddings = LangChainEmbeddings(shared_embedder(), batch_size=settings.embed_batch_size)
    live: dict[str, Any] | None = None
    if not rebuild:
        live = _usable(_verify_server(settings, embeddings), report, "the index on the server")
    old = live or {}
    known = _known_documents(old)
    plan = _plan(settings, files, known, old.get("skipped_files", {}), report)
    previous = read_live_manifest(settings) or {}  # the live one, even if unusable
    if not allow_mass_removal:
        before = known if live is not None else previous.get("documents", {})
        _check_removals(settings, sorted(set(before) - set(plan.documents)), before)
    generation = location.new_generation(copy_of=location.current())  # a local cache dir
    if live is not None and not plan.writes:
        if plan.documents != old.get("documents") or plan.skipped_files != old.get(
            "skipped_files"
        ) or report.skipped != old.get("skipped"):
            _switch(settings, generation, lease, {
                **old, "documents": plan.documents, "skipped_files": plan.skipped_files,
                "skipped": report.skipped,
            }, previous=None)
        return _finish(report, plan)

    report.rebuilt = live is None
    if live is None:  # a new build beside the live one; readers switch when it is whole
        build = uuid.uuid4().hex
        names = build_collections(build)
        store = open_store(settings, generation, embeddings, collection=names["chunks"],
                           create=True)
    else:  # a small update of the live build: marked first, finished by the next sync
        build = str(old.get("build"))
        names = manifest_collections(old)
        sources = sorted({s for s, _ in plan.to_index} | set(plan.to_delete))
        _switch(settings, generation, lease, {
            **old, "updating_in_place": {"since": _now(), "sources": sources},
        }, previous=None)
        store = open_store(settings, generation, embeddings, collection=names["chunks"])
    records = _server_records(settings, names["records"])
    records.create_schema()
    manifest = _update(settings, generation, store, records, plan, old, build, report, progress)
    manifest["collections"] = names
    _switch(settings, generation, lease, manifest, previous=previous if live is None else None)
    return _finish(report, plan)


def _switch(
    settings: Settings, generation: Path, lease: ServerLease, manifest: dict[str, Any], *,
    previous: dict[str, Any] | None,
) -> None:
    """Write ``manifest`` as the server's live one (one upsert: readers see the old one or
    this one), if this writer still holds the lease and no later writer wrote the manifest;
    after a switch to a new build (``previous``: the manifest it replaces), drop the builds
    older than ``previous``'s."""
    client = server_client(settings)
    lease.check()
    stored = read_server_manifest(client) or {}
    token = int((stored.get("writer") or {}).get("token", 0))
    assert lease.token is not None
    if token > lease.token:
        raise IndexBusyError(
            f"a later writer (lease token {token}, ours {lease.token}) already wrote the index "
            f"on the Chroma server at {settings.chroma_url}; nothing was switched"
        )
    manifest = {**manifest, "writer": {"holder": lease.holder, "token": lease.token}}
    with chroma_failures("switching the index", settings.chroma_url):
        write_server_manifest(client, manifest)
    write_manifest_file(generation, manifest)  # a copy for inspection
    if previous is not None:
        keep = set(manifest_collections(manifest).values())
        if previous:
            keep |= set(manifest_collections(previous).values())
        dropped = drop_builds(client, keep, settings.chroma_url)
        if dropped:
            log.info("dropped the collections of older builds: %s", ", ".join(dropped))


def _server_records(settings: Settings, collection: str) -> ChromaRecordManager:
    return ChromaRecordManager(server_client(settings), collection, settings.chroma_url)


def _prune_texts(
    settings: Settings, generation: Path, manifest: dict[str, Any], old: dict[str, Any]
) -> None:
    """Drop stored texts no document of this revision or the previous one has (a reader of
    the previous revision in this process may still cite those)."""
    keep = {str(d.get("sha256")) for m in (manifest, old) for d in m.get("documents", {}).values()}
    source_texts(settings, generation, None).prune(keep)


IN_PLACE_BYTES_PER_CHUNK = 32 * 1024  # vectors, sentence vectors, text, HNSW: generous
IN_PLACE_MIN_FREE = 16 * 2**20


def _check_free_space(generation: Path, plan: _Plan) -> None:
    """Refuse to start an in-place update the disk cannot hold (nothing is written yet)."""
    need = IN_PLACE_MIN_FREE + IN_PLACE_BYTES_PER_CHUNK * sum(len(c) for _, c in plan.to_index)
    try:
        free = shutil.disk_usage(generation).free
    except OSError:
        return
    if free < need:
        raise IndexBuildError(
            f"not enough free disk space for this update in {generation.parent} "
            f"({free / 2**20:.0f} MB free, about {need / 2**20:.0f} MB needed); the index "
            "still answers; free some space and run `python -m qa index`"
        )


def _keep_previous_manifest(generation: Path) -> Path | None:
    """A hard link to the live manifest, so a failed update can put it back with a rename
    (which needs no free space, unlike writing it again)."""
    keep = generation / ".manifest.previous"
    keep.unlink(missing_ok=True)
    try:
        os.link(generation / "manifest.json", keep)
    except OSError:
        return None
    return keep


def _roll_back(
    settings: Settings, generation: Path, embeddings: LangChainEmbeddings, old: dict[str, Any],
    sources: list[str], before: set[str], previous: Path | None,
) -> None:
    """After a failed in-place update: when nothing reached the store (a full disk fails
    Chroma's first transaction, which SQLite rolls back), put the previous manifest back, so
    the index keeps answering as before and the next sync redoes the update. Otherwise the
    mark stays and the next sync finishes the update."""
    if previous is None:
        return
    try:
        store = open_store(settings, generation, embeddings)
        expected = sum(int(d.get("chunks", 0)) for d in old.get("documents", {}).values())
        unchanged = store.count() == expected and _keys(
            _record_manager(generation), sources
        ) == before
        if unchanged:
            os.replace(previous, generation / "manifest.json")
            log.warning("the update failed before changing the index; it answers as before")
    except Exception as exc:  # cannot tell: leave the mark, the next sync finishes it
        log.warning("could not roll the failed update back (%s)", exc)


MASS_REMOVAL_SHARE = 0.5  # removing more than this share of the documents needs a flag


def _check_removals(settings: Settings, removed: list[str], known: dict[str, Any]) -> None:
    """Refuse a sync that would drop most of the index: an emptied, unmounted or wrongly
    configured corpus directory looks exactly like every document deleted."""
    if len(removed) >= 2 and len(removed) > MASS_REMOVAL_SHARE * len(known):
        raise MassRemovalError(
            f"this sync would remove {len(removed)} of the {len(known)} indexed documents "
            f"(is {settings.corpus_dir} emptied or not mounted?); the index is kept as it is. "
            "If the documents really are gone, run `python -m qa index --allow-mass-removal`"
        )


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
    record_manager: Any,
    plan: _Plan,
    old: dict[str, Any],
    build: str,
    report: IndexReport,
    progress: bool,
) -> dict[str, Any]:
    """Apply ``plan`` to the store and return the manifest describing the result, with the
    chunk ids removed and added when readers can patch their BM25 index with them."""
    embeddings: LangChainEmbeddings = store.embeddings
    touched = [source for source, _ in plan.to_index] + plan.to_delete
    before = _keys(record_manager, touched)
    _apply(plan, store, record_manager, embeddings, report, progress)
    try:
        source_texts(settings, generation, store).write(plan.texts)
    except OSError as exc:
        raise IndexBuildError(f"cannot store the indexed texts ({exc.strerror or exc}); "
                              "the index still answers; the next sync retries") from exc
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
            chunks_here = [c for _, chunks in group for c in chunks]
            known = dict(zip((c.id for c in chunks_here),
                             record_manager.exists([c.id for c in chunks_here]), strict=True))
            # spaCy annotates the group in a thread while the model embeds it here, each on a
            # core of its own (both release the GIL in their inner loops).
            with ThreadPoolExecutor(max_workers=1, thread_name_prefix="annotate") as pool:
                annotated = pool.submit(_annotate, group, plan.context)
                # Embed the group's new chunks together, in full length-sorted model batches.
                store.chunks.embed_ahead([c for c in chunks_here if not known[c.id]],
                                         beside=annotated)
                group = annotated.result()
            documents = [[chunk_record(c) for c in chunks] for _, chunks in group]
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
            store.chunks.move([d for docs in documents for d in docs if known[record_id(d)]])
        for source in plan.to_delete:
            report.deleted += _delete_source(source, store, record_manager)
    except (KeyboardInterrupt, SystemExit, GeneratorExit, QAError):
        raise
    except BaseException as exc:  # Chroma's Rust core panics (a BaseException) on damage
        raise IndexBuildError(f"indexing failed ({type(exc).__name__}: {exc}); "
                              "the index still answers; the next sync retries") from exc
    finally:
        if bar is not None:
            bar.close()
        embeddings.progress = None


def _annotate(
    group: list[tuple[str, list[Chunk]]], context: dict[str, tuple[str | None, tuple[str, ...]]]
) -> list[tuple[str, list[Chunk]]]:
    """The group's chunks with every sentence's role and entities (``annotate_chunks``)."""
    return [
        (source, annotate_chunks(chunks, title=context[source][0], headings=context[source][1]))
        for source, chunks in group
    ]


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


def _record_manager(generation: Path) -> Any:
    from langchain_classic.indexes import SQLRecordManager

    manager = SQLRecordManager(
        "chroma/chunks", db_url=f"sqlite:///{generation / 'records.sqlite'}"
    )
    manager.create_schema()
    return manager


def _progress(total: int, enabled: bool) -> Any:
    if not enabled or total == 0:
        return None
    from tqdm import tqdm

    return tqdm(total=total, desc="embedding", unit="chunk", file=sys.stderr, leave=False)
