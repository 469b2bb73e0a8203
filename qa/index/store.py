"""The one place that talks to Chroma: an embedded index on disk, or a ``chroma run`` server.

One collection of chunks (what retrieval returns). Each chunk record also carries its quotable
sentences (offsets, and vectors from the chunk's own model pass, packed as float16: see
``qa.index.sentence_vectors``), so no sentence is embedded per question and none needs an index
of its own: answering reads them with the chunk. Chroma's default embedding function is never
used: every vector comes from our model.

Server mode: every build has its own collections (``qa_chunks_<build>``, ``qa_sources_<build>``,
``qa_records_<build>``); the manifest, one record of the ``qa_manifest`` collection, names the
live build's, so a reader follows a switch with the manifest, and a rebuild fills new
collections beside the live ones. A reader never creates a collection; one that vanished
under it (dropped two switches later) is looked up again in the manifest once.
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
from qa.index.embedder import DIM, LangChainEmbeddings

if TYPE_CHECKING:
    from qa.index.chunk_writer import ChunkWriter

log = logging.getLogger(__name__)

CHUNKS = "qa_chunks"  # local mode; on a server the collection of an index built before builds
META = "qa_manifest"
MANIFEST_ID = "manifest"
BUILD_PREFIXES = ("qa_chunks", "qa_sources", "qa_records")  # + "_<build>" on a server
_SPACE = {"hnsw": {"space": "cosine"}}
# Collections of earlier layouts, dropped at a switch on a server.
_OLD_COLLECTIONS = ("qa_sentences",)


def build_collections(build: str) -> dict[str, str]:
    """The server collections of ``build``: chunks, source texts, record manager."""
    return {"chunks": f"qa_chunks_{build}", "sources": f"qa_sources_{build}",
            "records": f"qa_records_{build}"}


def manifest_collections(manifest: dict[str, Any] | None) -> dict[str, str]:
    """The collections a server manifest names (an index built before builds: the old
    fixed names)."""
    named = (manifest or {}).get("collections")
    if isinstance(named, dict) and all(isinstance(named.get(k), str) for k in
                                       ("chunks", "sources", "records")):
        return {k: str(named[k]) for k in ("chunks", "sources", "records")}
    return {"chunks": CHUNKS, "sources": "qa_sources", "records": "qa_records"}


def is_missing_collection(exc: BaseException) -> bool:
    """Whether Chroma said a collection does not exist (dropped, or never made)."""
    return type(exc).__name__ == "NotFoundError" or "does not exist" in str(exc)


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
            except IndexUnavailableError as exc:
                # Server mode: the collection was dropped (a rebuild switched two builds
                # ago): retry once against the collection the manifest names now.
                if not (self.chroma_url and is_missing_collection(exc.__cause__ or exc)):
                    raise
                gone = self.collection
                if not self.follow_manifest():
                    raise IndexUnavailableError(
                        f"the index collection {gone} vanished from the Chroma server at "
                        f"{self.chroma_url} while {what}, and the server's manifest names no "
                        "other; ask again, or run `python -m qa index`"
                    ) from exc
                try:
                    with chroma_failures(what, self.chroma_url):
                        return method(self, *args, **kwargs)
                except IndexUnavailableError as again:
                    raise IndexUnavailableError(
                        f"the index on the Chroma server at {self.chroma_url} changed while "
                        f"{what} ({again}); ask again"
                    ) from again

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
            raise IndexUnavailableError(
                f"cannot reach the Chroma server at {chroma_url} ({type(exc).__name__}: "
                f"{str(exc).strip()[:200]}); check that it runs, then try again"
            ) from exc
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
        collection: str = CHUNKS, create: bool = True,
    ) -> None:
        self.client = client
        self.embeddings = embeddings
        self.chroma_url = chroma_url
        self.damaged = False  # set when Chroma failed reading local files: repair, do not reuse
        self._bind(collection, create=create)

    def _bind(self, collection: str, *, create: bool) -> None:
        from qa.index.chunk_writer import ChunkWriter

        try:
            with chroma_failures("opening the chunk collection", self.chroma_url):
                self.chunks: ChunkWriter = ChunkWriter(
                    client=self.client,
                    collection_name=collection,
                    embedding_function=self.embeddings,
                    collection_configuration=_SPACE,
                    create_collection_if_not_exists=create,
                )
        except IndexUnavailableError as exc:
            if self.chroma_url and is_missing_collection(exc.__cause__ or exc):
                raise IndexUnavailableError(
                    f"the index collection {collection} is not on the Chroma server at "
                    f"{self.chroma_url} (a rebuild replaced it, or it was deleted); ask again, "
                    "or run `python -m qa index`"
                ) from exc
            raise
        self.collection = collection

    def follow_manifest(self) -> bool:
        """Server mode, after the collection vanished: bind to the chunk collection the
        server's manifest names now; False when that is the same one (or none)."""
        if not self.chroma_url:
            return False
        named = manifest_collections(read_server_manifest(self.client))["chunks"]
        if named == self.collection:
            return False
        try:
            self._bind(named, create=False)
        except QAError:
            return False
        log.info("the index moved to %s while answering; reading from it", named)
        return True

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
    def chunk_ids_between(self, source: str, start: int, end: int) -> list[str]:
        """Ids of ``source``'s chunks that begin within [start, end), in reading order: what
        follows a passage (the items after "Several factors explain this:")."""
        where: Any = {"$and": [{"source": source}, {"start": {"$gte": start}},
                               {"start": {"$lt": end}}]}
        res: Any = self.chunks._collection.get(where=where, include=["metadatas"])
        found = sorted(zip(res["metadatas"], res["ids"], strict=True), key=lambda m: m[0]["start"])
        return [str(i) for _, i in found]

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

    # --- the manifest record (local mode: the revision marker; server mode: the manifest) ---

    def read_manifest(self) -> dict[str, Any] | None:
        return read_server_manifest(self.client)

    @_guarded("writing the manifest")
    def write_manifest(self, manifest: dict[str, Any]) -> None:
        write_server_manifest(self.client, manifest)

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



# --- the server's catalogue: the manifest record, and the builds' collections ---------------


def _read_record(client: Any, record_id: str) -> dict[str, Any] | None:
    """A JSON record of the ``qa_manifest`` collection, or None when there is none."""
    try:
        col = client.get_collection(META, embedding_function=None)
        res = col.get(ids=[record_id], include=["documents"])
    except _NEVER_CAUGHT:
        raise
    except BaseException:  # missing collection, or damaged (a panic): no record
        return None
    if not res["ids"]:
        return None
    try:
        data = json.loads(res["documents"][0])
    except (TypeError, json.JSONDecodeError):
        return None
    return data if isinstance(data, dict) else None


def meta_collection(client: Any) -> Any:
    """The ``qa_manifest`` collection (the manifest; on a server also the writer lease)."""
    return client.get_or_create_collection(META, embedding_function=None, configuration=_SPACE)


def read_server_manifest(client: Any) -> dict[str, Any] | None:
    return _read_record(client, MANIFEST_ID)


def write_server_manifest(client: Any, manifest: dict[str, Any]) -> None:
    """Replace the manifest: one upsert of one record, so readers see the old one or the new
    one (on a server this is the switch to a new build)."""
    meta_collection(client).upsert(
        ids=[MANIFEST_ID], documents=[json.dumps(manifest)], embeddings=[[0.0] * DIM]
    )


def drop_builds(client: Any, keep: set[str], chroma_url: str | None) -> list[str]:
    """Delete the build collections (and those of earlier layouts) not in ``keep``; returns
    their names. Called right after a switch, keeping the new build's and the previous one's,
    so a reader still on the previous build keeps answering; older ones go."""
    with chroma_failures("listing collections", chroma_url):
        names = [getattr(c, "name", c) for c in client.list_collections()]
    dropped = []
    for name in names:
        ours = name.startswith(BUILD_PREFIXES) or name in _OLD_COLLECTIONS
        if not ours or name in keep or name == META:
            continue
        try:
            client.delete_collection(name)
            dropped.append(name)
        except Exception as exc:  # gone already, or the server hiccupped: next switch
            log.debug("could not drop collection %s: %s", name, exc)
    return dropped


def open_store(
    settings: Settings, generation: Path, embeddings: LangChainEmbeddings, *,
    collection: str | None = None, create: bool = False,
) -> ChromaStore:
    """The store of ``generation`` (local mode) or, on the Chroma server ``settings`` names,
    of ``collection`` (default: the one the server's manifest names). Server mode creates the
    collection only when ``create`` (a writer starting a build)."""
    if not settings.chroma_url:
        client = chroma_client(None, generation / "chroma")
        return ChromaStore(client, embeddings)
    client = server_client(settings)
    if collection is None:
        collection = manifest_collections(read_server_manifest(client))["chunks"]
    return ChromaStore(client, embeddings, chroma_url=settings.chroma_url,
                       collection=collection, create=create)


class ServerCatalog:
    """The manifest record on a server, read per question by every process using it."""

    def __init__(self, client: Any, chroma_url: str) -> None:
        self.client = client
        self.chroma_url = chroma_url

    def read_manifest(self) -> dict[str, Any] | None:
        return read_server_manifest(self.client)

    def write_manifest(self, manifest: dict[str, Any]) -> None:
        with chroma_failures("writing the manifest", self.chroma_url):
            write_server_manifest(self.client, manifest)


_server_clients: dict[str, Any] = {}


def server_client(settings: Settings) -> Any:
    """One HTTP client per Chroma server URL and process."""
    assert settings.chroma_url
    client = _server_clients.get(settings.chroma_url)
    if client is None:
        client = chroma_client(settings.chroma_url, None)
        _server_clients[settings.chroma_url] = client
    return client


def server_store(settings: Settings) -> ServerCatalog:
    """The manifest of ``settings``' server (the name is older than per-build collections)."""
    assert settings.chroma_url
    return ServerCatalog(server_client(settings), settings.chroma_url)


def server_reachable(settings: Settings) -> str | None:
    """None when ``settings``' Chroma server answers a heartbeat, else why not."""
    try:
        server_client(settings).heartbeat()
    except Exception as exc:
        forget_server_store(settings)
        return f"{type(exc).__name__}: {str(exc).strip()[:200]}"
    return None


def forget_server_store(settings: Settings) -> None:
    """Drop the kept client of ``settings``' server (after it failed): the next use reconnects."""
    if settings.chroma_url:
        _server_clients.pop(settings.chroma_url, None)
