"""LangChain's Chroma store for the writes LangChain's ``index()`` makes, each chunk written
with its sentences' vectors. Imported on the first write or store opening (``langchain_chroma``
and ``chromadb`` take most of a second to import)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from concurrent.futures import Future
from typing import Any

import numpy as np
from langchain_chroma import Chroma
from langchain_core.documents import Document

from qa.index.embedder import DIM
from qa.index.records import embed_text, sentence_spans
from qa.index.sentence_vectors import pack_vectors
from qa.models import Chunk

PROGRESS_SLICE = 256  # chunks embedded between two progress-bar updates


class ChunkWriter(Chroma):
    """LangChain's Chroma store, writing each chunk with its sentences' vectors.

    ``index()`` hands it chunk documents whose metadata lists the quotable sentences
    (``quotes``: raw start, raw end, and the span inside the chunk text); one model pass over
    the chunk gives its vector and its sentences' (``Embedder.encode_chunks``). ``index()``
    writes a document at a time, so the indexer first embeds the new chunks of many documents
    together (``embed_ahead``: full, length-sorted model batches, every sentence, while the
    roles that decide which sentences are quotable are still being annotated) and the writes
    use those vectors."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # chunk id -> (chunk vector, sentence vectors by their span in the chunk text)
        self._ahead: dict[str, tuple[list[float], dict[tuple[int, int], np.ndarray]]] = {}

    def embed_ahead(self, chunks: Sequence[Chunk], *, beside: Future[Any] | None = None) -> None:
        """Embed ``chunks`` and all their sentences now, for the ``add_documents`` calls that
        will write them (and keep the vectors of their quotable sentences); ``beside`` is the
        annotation running meanwhile (``Embedder.encode_chunks``)."""
        ordered = sorted(chunks, key=lambda c: -len(c.text))
        for i in range(0, len(ordered), PROGRESS_SLICE):
            part = ordered[i : i + PROGRESS_SLICE]
            texts = [embed_text(c.text, c.section) for c in part]
            spans = [sentence_spans(c) for c in part]
            embedded = self._embed(texts, [c.text for c in part], spans, beside=beside)
            for c, vector, by_span in zip(part, *embedded, strict=True):
                self._ahead[c.id] = (vector, by_span)

    def _embed(
        self, texts: Sequence[str], chunk_texts: Sequence[str],
        spans: Sequence[list[tuple[int, int]]], *, beside: Future[Any] | None = None,
    ) -> tuple[list[list[float]], list[dict[tuple[int, int], np.ndarray]]]:
        """Vectors of the embedded ``texts`` and of the sentence ``spans`` of their chunk texts
        (an embedded text ends with its chunk text)."""
        adapter: Any = self._embedding_function
        shifts = [len(t) - len(c) for t, c in zip(texts, chunk_texts, strict=True)]
        vectors, sentence_vectors = adapter.embedder.encode_chunks(
            list(texts),
            [[(d + a, d + b) for a, b in sp] for d, sp in zip(shifts, spans, strict=True)],
            batch_size=adapter.batch_size, beside=beside,
        )
        update = getattr(adapter.progress, "update", None)
        if update is not None:
            update(len(texts))
        return vectors.tolist(), [
            dict(zip(sp, rows, strict=True)) for sp, rows in zip(spans, sentence_vectors,
                                                                  strict=True)
        ]

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
        late = [d for d, i in zip(documents, ids, strict=True) if i not in self._ahead]
        if late:  # not embedded ahead: its quotable sentences only
            quotes = [_quotes(d) for d in late]
            embedded = self._embed([d.page_content for d in late],
                                   [str(d.metadata["text"]) for d in late], quotes)
            for d, vector, by_span in zip(late, *embedded, strict=True):
                self._ahead[str(d.metadata["chunk_id"])] = (vector, by_span)
        ready = [self._ahead.pop(i) for i in ids]
        self._collection.upsert(
            ids=ids, embeddings=[v for v, _ in ready],  # type: ignore[arg-type]
            metadatas=[{**d.metadata, "vectors": _packed(by_span, _quotes(d))}
                       for d, (_, by_span) in zip(documents, ready, strict=True)],
            documents=[d.page_content for d in documents],
        )
        return ids


def _quotes(doc: Document) -> list[tuple[int, int]]:
    """The quotable sentences' spans in the chunk text, from the record's metadata."""
    return [(a, b) for _, _, a, b in json.loads(doc.metadata["quotes"])]


def _packed(by_span: dict[tuple[int, int], np.ndarray], quotes: list[tuple[int, int]]) -> str:
    rows = [by_span[q] for q in quotes]
    return pack_vectors(np.stack(rows) if rows else np.zeros((0, DIM), dtype=np.float32))
