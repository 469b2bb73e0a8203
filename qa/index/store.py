"""The one place that talks to Chroma: an embedded index on disk, or a ``chroma run`` server.

One collection of chunks (what retrieval returns). Each chunk record also carries its quotable
sentences (offsets, and vectors from the chunk's own model pass, packed as float16), so no
sentence is embedded per question and none needs an index of its own: answering reads them with
the chunk. Chroma's default embedding function is never used: every vector comes from our model.
A second collection holds the manifest in server mode.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np
from langchain_chroma import Chroma
from langchain_core.documents import Document

from qa.index.embedder import DIM, LangChainEmbeddings
from qa.errors import ConfigError, IndexBuildError

log = logging.getLogger(__name__)

CHUNKS = "qa_chunks"
META = "qa_manifest"
_SPACE = {"hnsw": {"space": "cosine"}}
PROGRESS_SLICE = 256  # chunks embedded between two progress-bar updates
# Collections of the previous layout, dropped by a full rebuild on a server.
_OLD_COLLECTIONS = ("qa_sentences",)


@dataclass(frozen=True)
class StoredSentence:
    chunk_id: str
    start: int
    end: int
    text: str
    vector: np.ndarray


def chroma_client(chroma_url: str | None, path: Path | None) -> Any:
    """A Chroma client with telemetry off: HTTP when a server URL is set, else on-disk."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if chroma_url:
        url = urlparse(chroma_url)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ConfigError(f"QA_CHROMA_URL={chroma_url!r} must look like http://host:port")
        try:
            return chromadb.HttpClient(
                host=url.hostname,
                port=url.port or (443 if url.scheme == "https" else 8000),
                ssl=url.scheme == "https",
                settings=chroma_settings,
            )
        except Exception as exc:  # chromadb raises plain exceptions for connection errors
            raise IndexBuildError(f"cannot reach the Chroma server at {chroma_url}: {exc}") from exc
    assert path is not None
    path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(path), settings=chroma_settings)


class ChromaStore:
    """The chunk collection behind narrow methods; LangChain's Chroma (``ChunkWriter``) for
    the writes ``index()`` makes."""

    def __init__(self, client: Any, embeddings: LangChainEmbeddings) -> None:
        self.client = client
        self.embeddings = embeddings
        self.chunks = ChunkWriter(
            client=client,
            collection_name=CHUNKS,
            embedding_function=embeddings,
            collection_configuration=_SPACE,
        )

    # --- reads --------------------------------------------------------------------------

    def count(self) -> int:
        return int(self.chunks._collection.count())

    def query_chunks(self, vector: np.ndarray, n: int) -> list[tuple[str, float]]:
        """(chunk id, cosine similarity) of the nearest chunks, best first. Records are read
        by id afterwards, and only those not already cached (Chroma ids are chunk ids)."""
        res: Any = self.chunks._collection.query(
            query_embeddings=[vector.tolist()], n_results=max(1, n), include=["distances"]
        )
        ids, distances = res["ids"][0], res["distances"][0]
        return [(str(i), 1.0 - float(d)) for i, d in zip(ids, distances, strict=True)]

    def get_chunks(self, chunk_ids: Sequence[str]) -> dict[str, tuple[str, dict[str, Any]]]:
        if not chunk_ids:
            return {}
        # By id: Chroma's ids are our chunk ids (a where-filter is ~10x slower at 100k chunks).
        res: Any = self.chunks._collection.get(
            ids=list(dict.fromkeys(chunk_ids)), include=["metadatas", "documents"]
        )
        return {
            str(m["chunk_id"]): (str(doc), dict(m))
            for m, doc in zip(res["metadatas"], res["documents"], strict=True)
        }

    def iter_chunks(self, page: int = 5000) -> Iterator[tuple[str, str, dict[str, Any]]]:
        """Every (chunk id, text, metadata)."""
        for ids, docs, metas in self._pages(["metadatas", "documents"], page):
            yield from zip(ids, docs, metas, strict=True)

    def get_texts(self, chunk_ids: Sequence[str]) -> list[tuple[str, str]]:
        """(chunk id, embedded text) of ``chunk_ids`` that exist."""
        if not chunk_ids:
            return []
        res: Any = self.chunks._collection.get(ids=list(chunk_ids), include=["documents"])
        return list(zip(res["ids"], res["documents"], strict=True))

    def iter_texts(self, page: int = 5000) -> Iterator[tuple[str, str]]:
        """Every (chunk id, embedded text), for building the lexical index; metadata (with
        the packed sentence vectors) is not read."""
        for ids, docs, _ in self._pages(["documents"], page):
            yield from zip(ids, docs, strict=True)

    def _pages(self, include: list[Any], page: int) -> Iterator[tuple[Any, Any, Any]]:
        offset = 0
        while True:
            res: Any = self.chunks._collection.get(include=include, limit=page, offset=offset)
            if not res["ids"]:
                return
            yield res["ids"], res["documents"], res.get("metadatas") or [{}] * len(res["ids"])
            offset += len(res["ids"])

    # --- manifest kept beside the collections (shared by every process using this store) ---

    def read_manifest(self) -> dict[str, Any] | None:
        try:
            col = self.client.get_collection(META, embedding_function=None)
            res = col.get(ids=["manifest"], include=["documents"])
        except Exception:  # missing collection
            return None
        if not res["ids"]:
            return None
        try:
            data = json.loads(res["documents"][0])
        except (TypeError, json.JSONDecodeError):
            return None
        return data if isinstance(data, dict) else None

    def write_manifest(self, manifest: dict[str, Any]) -> None:
        col = self.client.get_or_create_collection(
            META, embedding_function=None, configuration=_SPACE
        )
        col.upsert(
            ids=["manifest"], documents=[json.dumps(manifest)], embeddings=[[0.0] * 384]
        )

    def drop_all(self) -> None:
        """Delete every collection of ours (a full rebuild on a server)."""
        for name in (CHUNKS, META, *_OLD_COLLECTIONS):
            try:
                self.client.delete_collection(name)
            except Exception:  # not there
                log.debug("collection %s was not there", name)


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


def pack_vectors(vectors: np.ndarray) -> str:
    """Sentence vectors as base64 float16: ~0.8 kB a sentence, cosines within 1e-3."""
    return base64.b64encode(np.asarray(vectors, dtype="<f2").tobytes()).decode("ascii")


def unpack_sentences(chunk_id: str, text: str, metadata: dict[str, Any]) -> list[StoredSentence]:
    """The quotable sentences stored with a chunk record, in reading order."""
    quotes = json.loads(str(metadata.get("quotes") or "[]"))
    raw = base64.b64decode(str(metadata.get("vectors") or ""))
    vectors = np.frombuffer(raw, dtype="<f2").astype(np.float32).reshape(-1, DIM)
    vectors /= np.clip(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12, None)
    if len(vectors) != len(quotes):
        raise IndexBuildError(f"chunk {chunk_id} has {len(quotes)} sentences, "
                              f"{len(vectors)} vectors")
    return [
        StoredSentence(chunk_id, int(start), int(end), text[a:b], vec)
        for (start, end, a, b), vec in zip(quotes, vectors, strict=True)
    ]
