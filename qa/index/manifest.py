"""The manifest: what an index holds and how it was built, and whether the corpus moved on.

It lists every document (sha256, file stat, title, date, chunk count), the skipped files, the
settings fingerprint (model, chunking, embedding format: a change invalidates every vector), a
build id and a revision, and after a small update the chunks it removed and added (``patch``),
so readers patch their BM25 index instead of rebuilding it. Local mode: ``manifest.json`` in the
generation, written last, and a revision marker in the store. Server mode: all of it on the
Chroma server (where every process reads it) and a copy on disk for inspection.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from qa.config import Settings
from qa.index.embedder import MODEL_NAME
from qa.index.generations import IndexLocation, read_manifest_file, write_manifest_file
from qa.index.records import EMBED_FORMAT
from qa.index.store import ChromaStore, forget_server_store, server_store
from qa.ingest.chunking import ChunkSettings
from qa.ingest.loaders import discover, file_sha256, sidecar_path

log = logging.getLogger(__name__)

MANIFEST_VERSION = 3


def chunk_settings(settings: Settings) -> ChunkSettings:
    return ChunkSettings(max_chars=settings.chunk_chars)


def settings_fingerprint(settings: Settings) -> dict[str, str]:
    """What, when changed, invalidates every vector: model, chunking, embedding format."""
    return {
        "model": MODEL_NAME,
        "chunking": chunk_settings(settings).fingerprint(),
        "embed_format": EMBED_FORMAT,
    }


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
            forget_server_store(settings)
            return None
    generation = IndexLocation(settings).current()
    return None if generation is None else read_manifest_file(generation)


def write_manifest(
    settings: Settings, generation: Path, manifest: dict[str, Any], store: ChromaStore | None
) -> None:
    """Local: a revision marker in the store, the manifest file last. Server: all of it in the
    store (where every process reads it) and a copy on disk for inspection."""
    if settings.chroma_url:
        (store or server_store(settings)).write_manifest(manifest)
    elif store is not None:
        store.write_manifest({"revision": manifest["revision"], "build": manifest["build"]})
    write_manifest_file(generation, manifest)


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
    files, _ = discover(settings.corpus_dir, follow_outside=settings.follow_outside_symlinks)
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
