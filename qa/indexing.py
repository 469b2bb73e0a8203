"""Keep the index in step with the corpus: only changed documents are re-embedded.

The sync is LangChain's ``index()`` (incremental cleanup, ``source`` as the source id, sha256
keys) with a persistent ``SQLRecordManager``; a manifest of document hashes and settings, kept
beside the collections, tells which files changed without reading them all. A changed model or
chunking setting, a missing or unreadable index, or ``--rebuild`` builds a new generation beside
the live one and swaps a pointer file atomically, so readers never see a half-built index.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import shutil
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from langchain_core.documents import Document

from qa.chunking import ChunkSettings, chunk_document
from qa.config import Settings
from qa.embeddings import MODEL_NAME, LangChainEmbeddings, shared_embedder
from qa.errors import IndexBuildError
from qa.loaders import SkippedDocument, discover, file_sha256, load_document
from qa.models import Chunk
from qa.store import ChromaStore, chroma_client

log = logging.getLogger(__name__)

MANIFEST_VERSION = 2
EMBED_FORMAT = "section-prefix/v1"  # how a chunk's text is presented to the model


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
    seconds: float = 0.0

    def summary(self) -> str:
        lines = [
            f"indexed {self.documents} documents, {self.chunks} chunks "
            f"({self.added} embedded, {self.deleted} removed"
            f"{', full rebuild' if self.rebuilt else ''}) in {self.seconds:.1f}s"
        ]
        if self.changed_sources:
            lines.append("updated: " + ", ".join(self.changed_sources))
        if self.removed_sources:
            lines.append("removed: " + ", ".join(self.removed_sources))
        for source, reason in self.skipped:
            lines.append(f"skipped {source}: {reason}")
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

    In server mode (``QA_CHROMA_URL``) the collections live on the server and only the record
    manager and lock stay in the index directory.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.root = settings.index_dir
        self.server = settings.chroma_url

    @property
    def pointer(self) -> Path:
        return self.root / "CURRENT"

    def current(self) -> Path | None:
        """The live generation directory, or None when there is none."""
        if self.server:
            return self.root / "server" / _safe_name(self.server)
        try:
            name = self.pointer.read_text(encoding="utf-8").strip()
        except (FileNotFoundError, NotADirectoryError, UnicodeDecodeError):
            return None
        path = self.root / name
        return path if name and path.is_dir() else None

    def new_generation(self) -> Path:
        if self.server:
            path = self.root / "server" / _safe_name(self.server)
            shutil.rmtree(path, ignore_errors=True)
        else:
            path = self.root / f"gen-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def publish(self, generation: Path) -> None:
        """Point readers at ``generation`` atomically, then remove generations older than the
        previous one (a reader may still hold the previous one open)."""
        if self.server:
            return
        previous = self.current()
        tmp = self.root / f".CURRENT.{os.getpid()}"
        tmp.write_text(generation.name, encoding="utf-8")
        os.replace(tmp, self.pointer)
        keep = {generation.name, previous.name if previous else ""}
        for old in self.root.glob("gen-*"):
            if old.name not in keep:
                shutil.rmtree(old, ignore_errors=True)

    @contextlib.contextmanager
    def writer_lock(self) -> Iterator[None]:
        """One writer at a time, across processes; a crashed holder's lock dies with it."""
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".lock", "w") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)


def _safe_name(url: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in url)


def open_store(
    settings: Settings, generation: Path, embeddings: LangChainEmbeddings
) -> ChromaStore:
    path = None if settings.chroma_url else generation / "chroma"
    client = chroma_client(settings.chroma_url, path)
    return ChromaStore(client, embeddings)


def _record_managers(generation: Path) -> tuple[Any, Any]:
    from langchain_classic.indexes import SQLRecordManager

    db_url = f"sqlite:///{generation / 'records.sqlite'}"
    managers = (
        SQLRecordManager(f"chroma/{suffix}", db_url=db_url) for suffix in ("chunks", "sentences")
    )
    out = tuple(managers)
    for manager in out:
        manager.create_schema()
    return out[0], out[1]


# --- staleness --------------------------------------------------------------------------


def read_live_manifest(settings: Settings) -> dict[str, Any] | None:
    """The manifest of the live index, or None when there is no usable index."""
    location = IndexLocation(settings)
    generation = location.current()
    if generation is None:
        return None
    path = generation / "manifest.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    return data if isinstance(data, dict) else None


def is_stale(settings: Settings, manifest: dict[str, Any] | None) -> bool:
    """True when the corpus or settings differ from what the manifest records (cheap: stat
    first, hash only files whose size or mtime moved)."""
    if manifest is None or not manifest.get("complete"):
        return True
    if manifest.get("settings") != settings_fingerprint(settings):
        return True
    files, _ = discover(settings.corpus_dir)
    known: dict[str, Any] = manifest.get("documents", {})
    skipped: dict[str, Any] = manifest.get("skipped_files", {})
    entry: Any
    current = {p.relative_to(settings.corpus_dir).as_posix(): p for p in files}
    if set(current) != set(known) | set(skipped):
        return True
    for source, path in current.items():
        entry = known.get(source) or skipped.get(source)
        try:
            st = path.stat()
        except OSError:
            return True
        if entry.get("size") == st.st_size and entry.get("mtime_ns") == st.st_mtime_ns:
            continue
        if file_sha256(path) != entry.get("sha256"):
            return True
    return False


# --- the sync ---------------------------------------------------------------------------


def sync_index(settings: Settings, *, rebuild: bool = False, progress: bool = True) -> IndexReport:
    """Bring the index up to date with the corpus; see the module docstring."""
    started = time.perf_counter()
    location = IndexLocation(settings)
    with location.writer_lock():
        report = _sync_locked(settings, location, rebuild=rebuild, progress=progress)
    report.seconds = time.perf_counter() - started
    return report


def _sync_locked(
    settings: Settings, location: IndexLocation, *, rebuild: bool, progress: bool
) -> IndexReport:
    from langchain_core.indexing import index

    report = IndexReport()
    files, skipped_walk = discover(settings.corpus_dir)
    report.skipped.extend(skipped_walk)
    fingerprint = settings_fingerprint(settings)
    manifest = None if rebuild else read_live_manifest(settings)
    generation = location.current()
    full = (
        rebuild
        or generation is None
        or manifest is None
        or manifest.get("settings") != fingerprint
        or manifest.get("version") != MANIFEST_VERSION
    )
    embedder = shared_embedder()
    embeddings = LangChainEmbeddings(embedder, batch_size=settings.embed_batch_size)
    store: ChromaStore | None = None
    if not full:
        assert generation is not None
        try:
            store = open_store(settings, generation, embeddings)
            store.count()
            live_revision = (store.read_manifest() or {}).get("revision")
            if manifest is None or live_revision != manifest.get("revision"):
                raise IndexBuildError("manifest and collections disagree")
        except Exception as exc:  # a corrupt or half-written index: rebuild it
            log.warning("index at %s is unusable (%s); rebuilding", generation, exc)
            full = True
            store = None
    if full:
        report.rebuilt = True
        manifest = {"documents": {}, "skipped_files": {}, "revision": 0}
        generation = location.new_generation()
        try:
            store = open_store(settings, generation, embeddings)
            if settings.chroma_url:
                store.drop_all()
                store = open_store(settings, generation, embeddings)
        except IndexBuildError:
            raise
        except Exception as exc:
            raise IndexBuildError(f"cannot create an index in {generation}: {exc}") from exc
    assert store is not None and generation is not None and manifest is not None
    chunk_rm, sentence_rm = _record_managers(generation)

    known: dict[str, Any] = dict(manifest.get("documents", {}))
    new_docs: dict[str, Any] = {}
    skipped_files: dict[str, Any] = {}
    to_index: list[tuple[str, list[Chunk]]] = []
    for path in files:
        source = path.relative_to(settings.corpus_dir).as_posix()
        try:
            st = path.stat()
            entry: Any = known.get(source) or {}
            if entry.get("size") == st.st_size and entry.get("mtime_ns") == st.st_mtime_ns:
                new_docs[source] = entry
                continue
            digest = file_sha256(path)
            if entry and entry.get("sha256") == digest:
                new_docs[source] = {**entry, "size": st.st_size, "mtime_ns": st.st_mtime_ns}
                continue
            doc = load_document(path, settings.corpus_dir)
            chunks = chunk_document(doc, chunk_settings(settings))
        except SkippedDocument as exc:
            report.skipped.append((source, str(exc)))
            skipped_files[source] = _stat_entry(path)
            continue
        except OSError as exc:
            report.skipped.append((source, f"cannot read: {exc}"))
            continue
        report.warnings.extend(doc.warnings)
        new_docs[source] = {
            "sha256": doc.sha256, "size": st.st_size, "mtime_ns": st.st_mtime_ns,
            "title": doc.meta.title, "chunks": len(chunks), "date": doc.meta.date,
            "author": doc.meta.author, "url": doc.meta.url,
        }
        to_index.append((source, chunks))
        report.changed_sources.append(source)

    removed = sorted(set(known) - set(new_docs))
    report.removed_sources = removed
    total = sum(len(c) + sum(len(x.sentences) for x in c) for _, c in to_index)
    bar = _progress(total, progress)
    embeddings.progress = bar
    try:
        for _source, chunks in to_index:
            result = index(
                [_chunk_document(c) for c in chunks], chunk_rm, store.chunks,
                cleanup="incremental", source_id_key="source", key_encoder="sha256",
                batch_size=settings.embed_batch_size,
            )
            report.added += result["num_added"]
            report.deleted += result["num_deleted"]
            result = index(
                [_sentence_document(c, i) for c in chunks for i in range(len(c.sentences))],
                sentence_rm, store.sentences,
                cleanup="incremental", source_id_key="source", key_encoder="sha256",
                batch_size=settings.embed_batch_size,
            )
            report.deleted += result["num_deleted"]
        for source in removed + [s for s in skipped_files if s in known]:
            report.deleted += _delete_source(source, store, chunk_rm, sentence_rm)
    finally:
        if bar is not None:
            bar.close()
        embeddings.progress = None

    revision = int(manifest.get("revision", 0)) + 1
    new_manifest = {
        "version": MANIFEST_VERSION,
        "complete": True,
        "revision": revision,
        "settings": fingerprint,
        "corpus_dir": str(settings.corpus_dir),
        "indexed_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "documents": new_docs,
        "skipped_files": skipped_files,
        "skipped": report.skipped,
    }
    store.write_manifest({"revision": revision})
    _write_json(generation / "manifest.json", new_manifest)
    if report.rebuilt:
        location.publish(generation)
    report.documents = len(new_docs)
    report.chunks = sum(int(d.get("chunks", 0)) for d in new_docs.values())
    return report


def _stat_entry(path: Path) -> dict[str, Any]:
    try:
        st = path.stat()
        return {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": file_sha256(path)}
    except OSError:
        return {}


def _delete_source(source: str, store: ChromaStore, *managers: Any) -> int:
    deleted = 0
    for manager, vectorstore in zip(managers, (store.chunks, store.sentences), strict=True):
        while keys := manager.list_keys(group_ids=[source], limit=1000):
            vectorstore.delete(keys)
            manager.delete_keys(keys)
            deleted += len(keys)
    return deleted


def _chunk_document(chunk: Chunk) -> Document:
    return Document(
        page_content=embed_text(chunk.text, chunk.section),
        metadata={
            "chunk_id": chunk.id, "source": chunk.source, "title": chunk.title,
            "section": chunk.section or "", "start": chunk.start, "end": chunk.end,
            "text": chunk.text,
        },
    )


def _sentence_document(chunk: Chunk, i: int) -> Document:
    sentence = chunk.sentences[i]
    return Document(
        page_content=sentence.text,
        metadata={
            "chunk_id": chunk.id, "source": chunk.source, "start": sentence.start,
            "end": sentence.end, "position": i,
        },
    )


def _progress(total: int, enabled: bool) -> Any:
    if not enabled or total == 0:
        return None
    from tqdm import tqdm

    return tqdm(total=total, desc="embedding", unit="text", file=sys.stderr, leave=False)


def _write_json(path: Path, data: dict[str, Any]) -> None:
    """Write atomically: a crash leaves the old file or the new one, never half of one."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=1), encoding="utf-8")
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, path)
