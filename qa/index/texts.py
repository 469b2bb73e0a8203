"""The source text of every indexed document, kept with the index (what citations point into).

Offsets are only meaningful in the text that was chunked, so that text is stored at index time,
by the document's content hash (``sha256`` in the manifest): a file edited after indexing (or
while a rebuild ran) is still cited in the text that was indexed, never in the new one at the
old offsets, and a PDF is extracted once, not per answer. Local mode: ``sources/<sha256>.txt``
in the generation (immutable, so a copied generation hard-links them). Server mode: a collection
on the Chroma server beside the chunks, in pieces (``<sha256>:<n>``).
"""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path
from typing import Any

from qa.index.embedder import DIM
from qa.index.store import ChromaStore, chroma_failures
from qa.ingest.atomic import write_atomic

log = logging.getLogger(__name__)

SOURCES_DIR = "sources"
PIECE_CHARS = 256 * 1024  # server mode: one record per piece of this many characters


def _encode(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def _decode(data: bytes) -> str:
    return data.decode("utf-8", "surrogatepass")


class SourceTexts:
    """Indexed source texts of one generation (local) or one build's collection (server)."""

    def __init__(self, generation: Path | None, store: ChromaStore | None = None,
                 collection: str | None = None) -> None:
        self.generation = generation
        self.store = store if collection else None
        self.collection = collection

    # --- local mode -----------------------------------------------------------------------

    def _path(self, sha256: str) -> Path:
        assert self.generation is not None
        return self.generation / SOURCES_DIR / f"{sha256}.txt"

    # --- both -----------------------------------------------------------------------------

    def write(self, texts: dict[str, str]) -> None:
        """Store ``texts`` (sha256 -> source text); ones already stored are left alone."""
        if not texts:
            return
        if self.store is None:
            (self._path("x").parent).mkdir(parents=True, exist_ok=True)
            for sha256, text in texts.items():
                path = self._path(sha256)
                if not path.is_file():
                    write_atomic(path, _encode(text))
            return
        col = self._collection(create=True)
        with chroma_failures("storing source texts", self.store.chroma_url):
            for sha256, text in texts.items():
                pieces = [text[i : i + PIECE_CHARS] for i in range(0, len(text), PIECE_CHARS)]
                pieces = pieces or [""]
                ids = [f"{sha256}:{n}" for n in range(len(pieces))]
                col.upsert(
                    ids=ids, documents=pieces, embeddings=[[0.0] * DIM] * len(pieces),
                    metadatas=[{"sha256": sha256, "n": n, "of": len(pieces)}
                               for n in range(len(pieces))],
                )

    def read(self, sha256: str) -> str | None:
        """The stored text of ``sha256``, or None when none is stored (an older index)."""
        if self.store is None:
            try:
                return _decode(self._path(sha256).read_bytes())
            except (OSError, UnicodeDecodeError):
                return None
        col = self._collection(create=False)
        if col is None:
            return None
        with chroma_failures("reading a source text", self.store.chroma_url):
            res: Any = col.get(where={"sha256": sha256}, include=["documents", "metadatas"])
        parts = sorted(zip(res["metadatas"], res["documents"], strict=True),
                       key=lambda p: int(p[0]["n"]))
        if not parts or len(parts) != int(parts[0][0]["of"]):
            return None
        return "".join(str(doc) for _, doc in parts)

    def prune(self, keep: set[str]) -> None:
        """Remove stored texts whose hash is not in ``keep`` (local mode; a server build's
        collection goes with its build)."""
        if self.store is not None or self.generation is None:
            return
        folder = self.generation / SOURCES_DIR
        if not folder.is_dir():
            return
        for path in folder.glob("*.txt"):
            if path.stem not in keep:
                with contextlib.suppress(OSError):
                    path.unlink()

    def _collection(self, *, create: bool) -> Any:
        assert self.store is not None and self.collection is not None
        client = self.store.client
        if create:
            with chroma_failures("storing source texts", self.store.chroma_url):
                return client.get_or_create_collection(self.collection, embedding_function=None)
        try:
            return client.get_collection(self.collection, embedding_function=None)
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException:  # not there (an index built before texts were stored)
            return None


def sources_collection(chunks_collection: str) -> str:
    """The server collection holding the source texts of the build whose chunks are in
    ``chunks_collection``."""
    return chunks_collection.replace("qa_chunks", "qa_sources", 1)


def source_texts(settings: Any, generation: Path | None, store: ChromaStore | None) -> SourceTexts:
    """The stored texts of ``generation`` (local) or of ``store``'s build (server mode)."""
    if settings.chroma_url and store is not None:
        return SourceTexts(None, store, sources_collection(store.collection))
    return SourceTexts(generation)
