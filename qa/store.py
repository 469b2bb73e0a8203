"""The one place that talks to Chroma: an embedded index on disk, or a ``chroma run`` server.

Two collections: chunks (what retrieval returns) and their sentences (what extractive answers
quote, embedded at index time so no sentence is embedded per question). Chroma's default
embedding function is never used: every vector comes from our model.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np

from qa.embeddings import LangChainEmbeddings
from qa.errors import ConfigError, IndexBuildError

log = logging.getLogger(__name__)

CHUNKS = "qa_chunks"
SENTENCES = "qa_sentences"
META = "qa_manifest"
_SPACE = {"hnsw": {"space": "cosine"}}
SENTENCE_CACHE = 4096  # chunks whose stored sentences are kept in memory (about 6 MB)


@dataclass(frozen=True)
class DenseHit:
    """A nearest neighbour: our chunk id, cosine similarity, and the stored record."""

    chunk_id: str
    similarity: float
    text: str
    metadata: dict[str, Any]


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
    """Chunk and sentence collections behind narrow methods; LangChain's Chroma for writes."""

    def __init__(self, client: Any, embeddings: LangChainEmbeddings) -> None:
        from langchain_chroma import Chroma

        self.client = client
        self.embeddings = embeddings
        # Chunk ids are content hashes, so a chunk's sentences never change under its id: the
        # answer step's read of them can be cached across questions.
        self._sentences: OrderedDict[str, list[StoredSentence]] = OrderedDict()
        self._sentences_lock = threading.Lock()
        self.chunks = Chroma(
            client=client,
            collection_name=CHUNKS,
            embedding_function=embeddings,
            collection_configuration=_SPACE,  # type: ignore[arg-type]
        )
        self.sentences = Chroma(
            client=client,
            collection_name=SENTENCES,
            embedding_function=embeddings,
            collection_configuration=_SPACE,  # type: ignore[arg-type]
        )

    # --- reads --------------------------------------------------------------------------

    def count(self) -> int:
        return int(self.chunks._collection.count())

    def query_chunks(self, vector: np.ndarray, n: int) -> list[DenseHit]:
        res: Any = self.chunks._collection.query(
            query_embeddings=[vector.tolist()],
            n_results=max(1, n),
            include=["metadatas", "documents", "distances"],
        )
        return [
            DenseHit(str(m["chunk_id"]), 1.0 - float(d), str(doc), dict(m))
            for m, doc, d in zip(
                res["metadatas"][0], res["documents"][0], res["distances"][0], strict=True
            )
        ]

    def query_sentences(self, vector: np.ndarray, n: int) -> list[tuple[str, float]]:
        """(chunk id, similarity) of the best-matching sentences, best first."""
        res: Any = self.sentences._collection.query(
            query_embeddings=[vector.tolist()],
            n_results=max(1, n),
            include=["metadatas", "distances"],
        )
        return [
            (str(m["chunk_id"]), 1.0 - float(d))
            for m, d in zip(res["metadatas"][0], res["distances"][0], strict=True)
        ]

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

    def get_sentences(self, chunk_ids: Sequence[str]) -> list[StoredSentence]:
        """The stored sentences (with their vectors) of ``chunk_ids``, by chunk then position."""
        wanted = sorted(set(chunk_ids))
        with self._sentences_lock:
            have = {c: self._sentences[c] for c in wanted if c in self._sentences}
            for chunk_id in have:
                self._sentences.move_to_end(chunk_id)
        missing = [c for c in wanted if c not in have]
        if missing:
            chunks = self.get_chunks(missing)
            ids = [
                sentence_id(c, i)
                for c, (_, meta) in chunks.items() for i in range(int(meta.get("sentences", 0)))
            ]
            res: Any = self.sentences._collection.get(
                ids=ids, include=["metadatas", "documents", "embeddings"]
            )
            found: dict[str, list[StoredSentence]] = {c: [] for c in missing}
            for m, doc, vec in zip(
                res["metadatas"], res["documents"], res["embeddings"], strict=True
            ):
                found.setdefault(str(m["chunk_id"]), []).append(StoredSentence(
                    str(m["chunk_id"]), int(m["start"]), int(m["end"]), str(doc),
                    np.asarray(vec, dtype=np.float32),
                ))
            for sentences in found.values():
                sentences.sort(key=lambda s: s.start)
            have.update(found)
            with self._sentences_lock:
                self._sentences.update(found)
                while len(self._sentences) > SENTENCE_CACHE:
                    self._sentences.popitem(last=False)
        return [s for chunk_id in wanted for s in have.get(chunk_id, [])]

    def iter_chunks(self, page: int = 5000) -> Iterator[tuple[str, str, dict[str, Any]]]:
        """Every (chunk id, text, metadata), for building the lexical index."""
        offset = 0
        while True:
            res: Any = self.chunks._collection.get(
                include=["metadatas", "documents"], limit=page, offset=offset
            )
            if not res["ids"]:
                return
            for m, doc in zip(res["metadatas"], res["documents"], strict=True):
                yield str(m["chunk_id"]), str(doc), dict(m)
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
        for name in (CHUNKS, SENTENCES, META):
            try:
                self.client.delete_collection(name)
            except Exception:  # not there
                log.debug("collection %s was not there", name)


def sentence_id(chunk_id: str, position: int) -> str:
    """Chroma id of the sentence at ``position`` in a chunk (some positions may be absent)."""
    return f"{chunk_id}:{position}"
