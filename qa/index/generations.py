"""Where an index lives: generation directories, the ``CURRENT`` pointer, publishing, debris.

Local mode: each generation is a directory ``gen-*`` holding the Chroma data (``chroma/``), the
record manager (``records.sqlite``), saved BM25 indexes and ``manifest.json``, written last. A
writer never changes a generation another process reads: it fills a new one and publishes it by
renaming ``CURRENT`` atomically; what a killed writer leaves (a generation without a complete
manifest, a temporary pointer) is debris the next writer deletes.

Server mode (``QA_CHROMA_URL``): the collections, the manifest and the record manager live on the
server; one fixed directory under the index directory holds only this host's caches (saved BM25
indexes) and a copy of the manifest, so it may start empty. What the manifest means is
``qa.index.manifest``'s business; reading and replacing its file is this module's.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import time
import uuid
from pathlib import Path
from typing import Any

from qa.config import Settings
from qa.ingest.atomic import write_atomic

MANIFEST = "manifest.json"  # in every generation, written last
KEEP_GENERATIONS = 3  # the live one and two before it (readers may still hold them)


class IndexLocation:
    """The index directory of ``settings``: its generations and the pointer to the live one."""

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
        if self.server:  # caches only, which other processes of this host may be reading
            path = self.server_dir()
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
        write_atomic(self.pointer, generation.name)
        complete = sorted(
            (g for g in self.root.glob("gen-*") if is_complete_generation(g)),
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
            if path != live and not is_complete_generation(path):
                shutil.rmtree(path, ignore_errors=True)
                removed.append(path.name)
        for tmp in self.root.glob(f".{self.pointer.name}.*"):
            tmp.unlink(missing_ok=True)
        return removed


def is_complete_generation(generation: Path) -> bool:
    """Whether a writer finished ``generation`` (its manifest says so)."""
    return bool((read_manifest_file(generation) or {}).get("complete"))


_manifest_cache: dict[Path, tuple[tuple[int, int], dict[str, Any]]] = {}


def read_manifest_file(generation: Path) -> dict[str, Any] | None:
    """``generation``'s ``manifest.json`` (None when missing, unreadable or not an object),
    parsed again only when the file's stat changes: every question reads the live manifest,
    which ``write_manifest_file`` replaces whole."""
    path = generation / MANIFEST
    try:
        st = path.stat()
        stamp = (st.st_mtime_ns, st.st_size)
        cached = _manifest_cache.get(path)
        if cached and cached[0] == stamp:
            return dict(cached[1])
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    if not isinstance(data, dict):
        return None
    _manifest_cache[path] = (stamp, data)
    return dict(data)


def write_manifest_file(generation: Path, manifest: dict[str, Any]) -> None:
    """Replace ``generation``'s ``manifest.json`` atomically."""
    write_atomic(generation / MANIFEST, json.dumps(manifest, indent=1))


def _safe_name(url: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in url)


def _copy_generation(src: Path, dst: Path) -> None:
    """Copy a generation; SQLite files through the backup API so the copy is consistent."""
    for path in src.rglob("*"):
        target = dst / path.relative_to(src)
        if path.is_dir():
            target.mkdir(parents=True, exist_ok=True)
        elif path.name == MANIFEST or path.name.startswith("."):
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
        elif path.parent.name == "sources" and path.suffix == ".txt":
            target.parent.mkdir(parents=True, exist_ok=True)
            try:  # stored source texts never change once written: share them
                os.link(path, target)
            except OSError:
                shutil.copy2(path, target)
        elif not path.name.endswith(("-journal", "-wal", "-shm")):
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
