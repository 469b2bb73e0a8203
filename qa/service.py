"""Corpus-level operations for the front ends: what is indexed, re-index, read a source."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from qa.config import Settings
from qa.engine import get_engine, rebuild
from qa.errors import QuestionError
from qa.indexing import IndexReport, is_stale, read_live_manifest
from qa.loaders import source_text as _read_source


@dataclass(frozen=True, kw_only=True)
class DocumentInfo:
    source: str
    title: str
    chunks: int
    date: str | None = None
    author: str | None = None
    url: str | None = None


@dataclass(frozen=True, kw_only=True)
class CorpusInfo:
    """What the live index holds, for a header line or a status command."""

    documents: list[DocumentInfo]
    chunks: int
    indexed_at: str | None
    skipped: list[tuple[str, str]] = field(default_factory=list)


def corpus_info(settings: Settings | None = None) -> CorpusInfo:
    """Documents, chunk count and index time of the (fresh) index."""
    settings = settings or Settings.from_env()
    engine = get_engine(settings)
    docs = [
        DocumentInfo(
            source=source, title=str(d.get("title", source)), chunks=int(d.get("chunks", 0)),
            date=d.get("date"), author=d.get("author"), url=d.get("url"),
        )
        for source, d in sorted(engine.documents().items())
    ]
    return CorpusInfo(
        documents=docs,
        chunks=sum(d.chunks for d in docs),
        indexed_at=engine.manifest.get("indexed_at"),
        skipped=[tuple(s) for s in engine.manifest.get("skipped", [])],
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
    return rebuild(settings or Settings.from_env(), full=full, progress=progress)


def source_text(source: str, settings: Settings | None = None) -> str:
    """The full text a document's offsets point into (raw file text for text formats)."""
    settings = settings or Settings.from_env()
    root = settings.corpus_dir.resolve()
    path = (root / source).resolve()
    if root not in path.parents or not path.is_file():
        raise QuestionError(f"no document {source!r} in the corpus")
    return _read_source(Path(path))
