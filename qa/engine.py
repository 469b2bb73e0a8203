"""The loaded state behind the public API: store, lexical index and caches, one per index.

An engine is opened once per process for a given settings object and reopened only when the
index changes (a new generation or revision), so the model, the BM25 index and the chunk records
are never rebuilt per question.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

from qa.config import Settings
from qa.embeddings import Embedder, LangChainEmbeddings, shared_embedder
from qa.errors import IndexBuildError
from qa.indexing import (
    IndexLocation,
    IndexReport,
    is_stale,
    open_store,
    read_live_manifest,
    sync_index,
)
from qa.lexical import LexicalIndex
from qa.loaders import source_text as read_source_text
from qa.store import ChromaStore

log = logging.getLogger(__name__)

_engines: dict[tuple[Any, ...], Engine] = {}
_engines_lock = threading.Lock()


class Engine:
    """Everything a question needs, loaded for one index revision."""

    def __init__(self, settings: Settings, generation: Path, manifest: dict[str, Any]) -> None:
        self.settings = settings
        self.generation = generation
        self.manifest = manifest
        self.embedder: Embedder = shared_embedder()
        self.store: ChromaStore = open_store(
            settings, generation, LangChainEmbeddings(self.embedder)
        )
        self._records: dict[str, tuple[str, dict[str, Any]]] = {}
        ids, texts = [], []
        for chunk_id, text, metadata in self.store.iter_chunks():
            ids.append(chunk_id)
            texts.append(text)
            self._records[chunk_id] = (str(metadata.get("text", text)), metadata)
        self.lexical = LexicalIndex(ids, texts)
        self._sources: dict[str, tuple[int, str]] = {}
        from qa.retrieval import build_chain

        self.chain = build_chain(self)

    @property
    def key(self) -> tuple[str, int]:
        return str(self.generation), int(self.manifest.get("revision", 0))

    def remember(self, chunk_id: str, text: str, metadata: dict[str, Any]) -> None:
        self._records.setdefault(chunk_id, (str(metadata.get("text", text)), metadata))

    def records(self, chunk_ids: list[str]) -> dict[str, tuple[str, dict[str, Any]]]:
        missing = [c for c in chunk_ids if c not in self._records]
        if missing:
            for chunk_id, (text, metadata) in self.store.get_chunks(missing).items():
                self.remember(chunk_id, text, metadata)
        return {c: self._records[c] for c in chunk_ids if c in self._records}

    def source_text(self, source: str) -> str:
        """The text offsets of ``source`` point into (cached while the file is unchanged)."""
        path = self.settings.corpus_dir / source
        mtime = path.stat().st_mtime_ns
        cached = self._sources.get(source)
        if cached and cached[0] == mtime:
            return cached[1]
        text = read_source_text(path)
        self._sources[source] = (mtime, text)
        return text

    def documents(self) -> dict[str, Any]:
        return dict(self.manifest.get("documents", {}))


def _cache_key(settings: Settings) -> tuple[Any, ...]:
    return (
        str(settings.corpus_dir.resolve()),
        str(settings.index_dir.resolve()),
        settings.chroma_url,
        settings.chunk_chars,
    )


def get_engine(settings: Settings, *, ensure_fresh: bool = True) -> Engine:
    """The engine for ``settings``, building or updating the index first when it is stale."""
    key = _cache_key(settings)
    with _engines_lock:
        engine = _engines.get(key)
        manifest = read_live_manifest(settings)
        if ensure_fresh and is_stale(settings, manifest):
            report = sync_index(settings, progress=False)
            _log_report(report)
            manifest = read_live_manifest(settings)
        if manifest is None:
            raise IndexBuildError(
                f"no index in {settings.index_dir}; run `python -m qa index` to build it"
            )
        generation = IndexLocation(settings).current()
        assert generation is not None
        if engine is None or engine.key != (str(generation), int(manifest.get("revision", 0))):
            engine = Engine(settings, generation, manifest)
            _engines[key] = engine
        return engine


def rebuild(settings: Settings, *, full: bool = False, progress: bool = True) -> IndexReport:
    """Sync the index now (``full`` rebuilds from scratch); the next question reloads."""
    return sync_index(settings, rebuild=full, progress=progress)


def _log_report(report: IndexReport) -> None:
    for source, reason in report.skipped:
        log.warning("skipped %s: %s", source, reason)
    for warning in report.warnings:
        log.warning("%s", warning)
