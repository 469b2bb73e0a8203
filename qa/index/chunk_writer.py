"""LangChain's Chroma store for the writes LangChain's ``index()`` makes, each chunk written
with its sentences' vectors. Imported on the first write or store opening (``langchain_chroma``
and ``chromadb`` take most of a second to import)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from langchain_chroma import Chroma
from langchain_core.documents import Document

from qa.index.sentence_vectors import pack_vectors

PROGRESS_SLICE = 256  # chunks embedded between two progress-bar updates


class ChunkWriter(Chroma):
    """LangChain's Chroma store, writing each chunk with its sentences' vectors.

    ``index()`` hands it chunk documents whose metadata lists the quotable sentences
    (``quotes``: raw start, raw end, and the span inside the chunk text); one model pass over
    the chunk gives its vector and theirs (``Embedder.encode_chunks``). ``index()`` writes a
    document at a time, so the indexer first embeds the new chunks of many documents together
    (``embed_ahead``: full, length-sorted model batches) and the writes use those vectors."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._ahead: dict[str, tuple[list[float], str]] = {}

    def embed_ahead(self, documents: Sequence[Document]) -> None:
        """Embed ``documents`` now, for the ``add_documents`` calls that will write them."""
        ordered = sorted(documents, key=lambda d: -len(d.page_content))
        for i in range(0, len(ordered), PROGRESS_SLICE):
            part = ordered[i : i + PROGRESS_SLICE]
            for doc, vector, packed in zip(part, *self._embed(part), strict=True):
                self._ahead[str(doc.metadata["chunk_id"])] = (vector, packed)

    def _embed(self, documents: Sequence[Document]) -> tuple[list[list[float]], list[str]]:
        adapter: Any = self._embedding_function
        vectors, sentence_vectors = adapter.embedder.encode_chunks(
            [d.page_content for d in documents], [_spans_in(d) for d in documents],
            batch_size=adapter.batch_size,
        )
        update = getattr(adapter.progress, "update", None)
        if update is not None:
            update(len(documents))
        return vectors.tolist(), [pack_vectors(v) for v in sentence_vectors]

    def move(self, documents: Sequence[Document]) -> None:
        """Give stored chunks the offsets of ``documents`` (same ids, so same text): an edit
        above a chunk shifts it without changing what was embedded."""
        if documents:
            self._collection.update(
                ids=[str(d.metadata["chunk_id"]) for d in documents],
                metadatas=[{k: d.metadata[k] for k in ("start", "end", "quotes")}
                           for d in documents],
            )

    def add_documents(self, documents: list[Document], **kwargs: Any) -> list[str]:
        ids = list(kwargs.get("ids") or [str(d.metadata["chunk_id"]) for d in documents])
        self.embed_ahead([d for d, i in zip(documents, ids, strict=True) if i not in self._ahead])
        ready = [self._ahead.pop(i) for i in ids]
        self._collection.upsert(
            ids=ids, embeddings=[v for v, _ in ready],  # type: ignore[arg-type]
            metadatas=[{**d.metadata, "vectors": packed}
                       for d, (_, packed) in zip(documents, ready, strict=True)],
            documents=[d.page_content for d in documents],
        )
        return ids


def _spans_in(doc: Document) -> list[tuple[int, int]]:
    """Sentence spans in the embedded text, which ends with the chunk text."""
    shift = len(doc.page_content) - len(str(doc.metadata["text"]))
    return [(shift + a, shift + b) for _, _, a, b in json.loads(doc.metadata["quotes"])]
