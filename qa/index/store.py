"""The one place that talks to Chroma: an embedded index on disk, or a ``chroma run`` server.

One collection of chunks (what retrieval returns). Each chunk record also carries its quotable
sentences (offsets, and vectors from the chunk's own model pass, packed as float16: see
``qa.index.sentence_vectors``), so no sentence is embedded per question and none needs an index
of its own: answering reads them with the chunk. Chroma's default embedding function is never
used: every vector comes from our model. A second collection holds the manifest in server mode.
``chromadb`` and ``langchain_chroma`` are imported when a store is first opened, not with this
module.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import json
import logging
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlparse

import numpy as np

from qa.config import Settings
from qa.errors import (
    ConfigError,
    IndexBuildError,
    IndexDamagedError,
    IndexUnavailableError,
    QAError,
)
from qa.index.embedder import DIM, LangChainEmbeddings, shared_embedder

if TYPE_CHECKING:
    from qa.index.chunk_writer import ChunkWriter

log = logging.getLogger(__name__)

CHUNKS = "qa_chunks"
META = "qa_manifest"
_SPACE = {"hnsw": {"space": "cosine"}}
# Collections of the previous layout, dropped by a full rebuild on a server.
_OLD_COLLECTIONS = ("qa_sentences",)


_F = TypeVar("_F", bound=Callable[..., Any])
_NEVER_CAUGHT = (KeyboardInterrupt, SystemExit, GeneratorExit)


@contextlib.contextmanager
def chroma_failures(what: str, chroma_url: str | None = None) -> Iterator[None]:
    """Turn whatever Chroma raises into a ``QAError`` with a readable message.

    A damaged ``chroma.sqlite3`` makes Chroma's Rust core panic: ``pyo3_runtime.PanicException``
    is a ``BaseException``, which ``except Exception`` misses, so it is caught here (only
    interrupts pass through). Local mode: ``IndexDamagedError``, which opening repairs. Server
    mode: ``IndexBuildError`` naming the server (it may be down or restarting).
    """
    try:
        yield
    except QAError:
        raise
    except _NEVER_CAUGHT:
        raise
    except BaseException as exc:
        message = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""
        detail = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
        if any(m in str(exc).lower() for m in _DISK_FULL) or (
            isinstance(exc, OSError) and exc.errno == errno.ENOSPC
        ):  # not damage: rebuilding would fail too; the index stays as it is
            raise IndexUnavailableError(
                f"the disk holding the index is full while {what} ({detail}); free some "
                "space, then ask again (the index is kept as it is)"
            ) from exc
        if chroma_url:
            raise IndexUnavailableError(
                f"the Chroma server at {chroma_url} failed while {what} ({detail}); "
                "check that it runs, then ask again"
            ) from exc
        raise IndexDamagedError(
            f"the index is damaged ({detail}); it is rebuilt on the next question or "
            "`python -m qa index`"
        ) from exc


def _guarded(what: str) -> Callable[[_F], _F]:
    """Run a ``ChromaStore`` method under ``chroma_failures``; a local failure marks the
    store damaged, so the next ``open_index`` repairs instead of reusing it."""

    def wrap(method: _F) -> _F:
        @functools.wraps(method)
        def guarded(self: ChromaStore, *args: Any, **kwargs: Any) -> Any:
            try:
                with chroma_failures(what, self.chroma_url):
                    return method(self, *args, **kwargs)
            except IndexDamagedError:
                self.damaged = True
                raise

        return guarded  # type: ignore[return-value]

    return wrap


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
    try:
        with chroma_failures("opening the index"):
            return chromadb.PersistentClient(path=str(path), settings=chroma_settings)
    except IndexBuildError:
        _forget_system(str(path))
        raise


def _forget_system(identifier: str) -> None:
    """Drop chromadb's cached system for a path whose opening failed: a panic skips
    chromadb's own clean-up, and the half-made system would fail every later open."""
    from chromadb.api.shared_system_client import SharedSystemClient

    SharedSystemClient._identifier_to_system.pop(identifier, None)
    SharedSystemClient._identifier_to_refcount.pop(identifier, None)


_DISK_FULL = ("disk is full", "no space left", "quota exceeded")


class ChromaStore:
    """The chunk collection behind narrow methods; LangChain's Chroma (``ChunkWriter``) for
    the writes ``index()`` makes."""

    def __init__(
        self, client: Any, embeddings: LangChainEmbeddings, *, chroma_url: str | None = None,
        collection: str = CHUNKS,
    ) -> None:
        from qa.index.chunk_writer import ChunkWriter

        self.client = client
        self.embeddings = embeddings
        self.chroma_url = chroma_url
        self.collection = collection
        self.damaged = False  # set when Chroma failed reading local files: repair, do not reuse
        with chroma_failures("opening the chunk collection", chroma_url):
            self.chunks: ChunkWriter = ChunkWriter(
                client=client,
                collection_name=collection,
                embedding_function=embeddings,
                collection_configuration=_SPACE,
            )

    # --- reads --------------------------------------------------------------------------

    @_guarded("counting chunks")
    def count(self) -> int:
        return int(self.chunks._collection.count())

    @_guarded("searching")
    def query_chunks(self, vector: np.ndarray, n: int) -> list[tuple[str, float]]:
        """(chunk id, cosine similarity) of the nearest chunks, best first. Records are read
        by id afterwards, and only those not already cached (Chroma ids are chunk ids)."""
        res: Any = self.chunks._collection.query(
            query_embeddings=[vector.tolist()], n_results=max(1, n), include=["distances"]
        )
        ids, distances = res["ids"][0], res["distances"][0]
        return [(str(i), 1.0 - float(d)) for i, d in zip(ids, distances, strict=True)]

    @_guarded("reading chunks")
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

    @_guarded("reading chunks")
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

    @_guarded("searching")
    def query_records(self, vector: np.ndarray, n: int) -> dict[str, Any]:
        """Chroma's own answer for the ``n`` nearest chunks, with its default include
        (documents, metadatas, distances): what a bare retriever does in one call (the
        benchmark's baseline; retrieval uses ``query_chunks``)."""
        res: Any = self.chunks._collection.query(
            query_embeddings=[vector.tolist()], n_results=max(1, n)
        )
        return dict(res)

    def _pages(self, include: list[Any], page: int) -> Iterator[tuple[Any, Any, Any]]:
        offset = 0
        while True:
            res: Any = self._page(include, page, offset)
            if not res["ids"]:
                return
            yield res["ids"], res["documents"], res.get("metadatas") or [{}] * len(res["ids"])
            offset += len(res["ids"])

    @_guarded("reading chunks")
    def _page(self, include: list[Any], page: int, offset: int) -> Any:
        return self.chunks._collection.get(include=include, limit=page, offset=offset)

    # --- manifest kept beside the collections (shared by every process using this store) ---

    def read_manifest(self) -> dict[str, Any] | None:
        try:
            col = self.client.get_collection(META, embedding_function=None)
            res = col.get(ids=["manifest"], include=["documents"])
        except _NEVER_CAUGHT:
            raise
        except BaseException:  # missing collection, or damaged (a panic): no manifest
            return None
        if not res["ids"]:
            return None
        try:
            data = json.loads(res["documents"][0])
        except (TypeError, json.JSONDecodeError):
            return None
        return data if isinstance(data, dict) else None

    @_guarded("writing the manifest")
    def write_manifest(self, manifest: dict[str, Any]) -> None:
        col = self.client.get_or_create_collection(
            META, embedding_function=None, configuration=_SPACE
        )
        col.upsert(
            ids=["manifest"], documents=[json.dumps(manifest)], embeddings=[[0.0] * DIM]
        )

    # --- writes ---------------------------------------------------------------------------

    @_guarded("writing")
    def max_batch_size(self) -> int:
        """The most records one ``write_records`` call may carry (a Chroma limit)."""
        return int(self.client.get_max_batch_size())

    @_guarded("writing")
    def write_records(
        self,
        ids: Sequence[str],
        vectors: Any,
        texts: Sequence[str],
        metadatas: Sequence[dict[str, Any]],
    ) -> None:
        """Upsert chunk records whose vectors are already made (``vectors``: one row per id),
        as they are: the sync writes through ``chunks`` (LangChain's ``index()``) instead; this
        is for records built elsewhere, such as the benchmark's synthetic ones. Each metadata
        needs the keys the sync writes (``chunk_id``, ``text``, ``quotes``, ``vectors``...)."""
        self.chunks._collection.upsert(
            ids=list(ids), embeddings=vectors, documents=list(texts), metadatas=list(metadatas),
        )

    def drop_all(self) -> None:
        """Delete every collection of ours (a full rebuild on a server)."""
        for name in (CHUNKS, META, *_OLD_COLLECTIONS):
            try:
                self.client.delete_collection(name)
            except Exception:  # not there
                log.debug("collection %s was not there", name)


def open_store(
    settings: Settings, generation: Path, embeddings: LangChainEmbeddings
) -> ChromaStore:
    """The store of ``generation`` (local mode) or of the Chroma server ``settings`` names."""
    path = None if settings.chroma_url else generation / "chroma"
    client = chroma_client(settings.chroma_url, path)
    return ChromaStore(client, embeddings, chroma_url=settings.chroma_url)


_server_stores: dict[str, ChromaStore] = {}


def server_store(settings: Settings) -> ChromaStore:
    """One store per Chroma server URL and process (the manifest is read per question)."""
    assert settings.chroma_url
    store = _server_stores.get(settings.chroma_url)
    if store is None:
        store = open_store(
            settings, Path("."), LangChainEmbeddings(shared_embedder(), settings.embed_batch_size)
        )
        _server_stores[settings.chroma_url] = store
    return store


def forget_server_store(settings: Settings) -> None:
    """Drop the kept store of ``settings``' server (after it failed): the next use reconnects."""
    if settings.chroma_url:
        _server_stores.pop(settings.chroma_url, None)
