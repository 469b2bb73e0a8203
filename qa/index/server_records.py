"""LangChain's record manager kept on the Chroma server, beside the build it describes.

Server mode keeps the sync state with the index, not on one host's disk: every key the sync
wrote (a chunk id) is a record of the build's ``qa_records_<build>`` collection, with its group
(the document) and when it was last written. So any worker, with an empty index directory, can
run an incremental sync against the shared server. Times come from the writer's clock, kept
monotonic across writers by a clock record (the latest time written): a host whose clock runs
behind the last writer's would otherwise see every record as written "after" its sync began.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any

from langchain_core.indexing.base import RecordManager

from qa.index.store import chroma_failures

_CLOCK = "__clock__"  # the record holding the latest update time written
_VECTOR = [1.0]  # Chroma needs a vector per record; these are never searched
_PAGE = 1000


class ChromaRecordManager(RecordManager):
    """A ``RecordManager`` over one Chroma collection (ids = keys; metadata: group, time)."""

    def __init__(self, client: Any, collection: str, chroma_url: str | None = None,
                 *, namespace: str = "chroma/chunks") -> None:
        super().__init__(namespace)
        self.client = client
        self.collection_name = collection
        self.chroma_url = chroma_url
        self._col: Any = None

    def _collection(self) -> Any:
        if self._col is None:
            with self._failures("opening the record manager"):
                self._col = self.client.get_or_create_collection(
                    self.collection_name, embedding_function=None
                )
        return self._col

    def _failures(self, what: str) -> Any:
        return chroma_failures(f"{what} ({self.collection_name})", self.chroma_url)

    def exists_collection(self) -> bool:
        """Whether the collection is on the server (it is made on first use)."""
        try:
            self.client.get_collection(self.collection_name, embedding_function=None)
        except Exception:
            return False
        return True

    def count(self) -> int:
        """Keys recorded (the clock record excluded)."""
        with self._failures("counting records"):
            total = int(self._collection().count())
            clock = self._collection().get(ids=[_CLOCK], include=[])["ids"]
        return total - len(clock)

    # --- RecordManager --------------------------------------------------------------------

    def create_schema(self) -> None:
        self._collection()

    async def acreate_schema(self) -> None:
        self.create_schema()

    def get_time(self) -> float:
        with self._failures("reading the record clock"):
            res = self._collection().get(ids=[_CLOCK], include=["metadatas"])
        last = float(res["metadatas"][0]["t"]) if res["ids"] else 0.0
        return max(time.time(), last + 1e-3)

    async def aget_time(self) -> float:
        return self.get_time()

    def update(
        self, keys: Sequence[str], *, group_ids: Sequence[str | None] | None = None,
        time_at_least: float | None = None,
    ) -> None:
        if group_ids is None:
            group_ids = [None] * len(keys)
        if len(keys) != len(group_ids):
            raise ValueError("the number of keys does not match the number of group ids")
        now = self.get_time()
        if time_at_least is not None and now < time_at_least:
            raise AssertionError(f"time sync issue: {now} < {time_at_least}")
        col = self._collection()
        with self._failures("writing records"):
            for i in range(0, len(keys), _PAGE):
                part = list(keys[i : i + _PAGE])
                groups = list(group_ids[i : i + _PAGE])
                col.upsert(
                    ids=part, embeddings=[_VECTOR] * len(part),
                    metadatas=[{"t": now, **({"g": g} if g is not None else {})}
                               for g in groups],
                )
            col.upsert(ids=[_CLOCK], embeddings=[_VECTOR], metadatas=[{"t": now}])

    async def aupdate(
        self, keys: Sequence[str], *, group_ids: Sequence[str | None] | None = None,
        time_at_least: float | None = None,
    ) -> None:
        self.update(keys, group_ids=group_ids, time_at_least=time_at_least)

    def exists(self, keys: Sequence[str]) -> list[bool]:
        found: set[str] = set()
        col = self._collection()
        with self._failures("reading records"):
            for i in range(0, len(keys), _PAGE):
                found.update(col.get(ids=list(keys[i : i + _PAGE]), include=[])["ids"])
        return [k in found for k in keys]

    async def aexists(self, keys: Sequence[str]) -> list[bool]:
        return self.exists(keys)

    def list_keys(
        self, *, before: float | None = None, after: float | None = None,
        group_ids: Sequence[str] | None = None, limit: int | None = None,
    ) -> list[str]:
        clauses: list[dict[str, Any]] = []
        if before is not None:
            clauses.append({"t": {"$lt": before}})
        if after is not None:
            clauses.append({"t": {"$gt": after}})
        if group_ids is not None:
            if not group_ids:
                return []
            clauses.append({"g": {"$in": list(group_ids)}})
        where: dict[str, Any] | None = (
            None if not clauses else clauses[0] if len(clauses) == 1 else {"$and": clauses}
        )
        with self._failures("listing records"):
            res = self._collection().get(where=where, limit=limit, include=[])
        return [k for k in res["ids"] if k != _CLOCK]

    async def alist_keys(
        self, *, before: float | None = None, after: float | None = None,
        group_ids: Sequence[str] | None = None, limit: int | None = None,
    ) -> list[str]:
        return self.list_keys(before=before, after=after, group_ids=group_ids, limit=limit)

    def delete_keys(self, keys: Sequence[str]) -> None:
        col = self._collection()
        with self._failures("deleting records"):
            for i in range(0, len(keys), _PAGE):
                col.delete(ids=list(keys[i : i + _PAGE]))

    async def adelete_keys(self, keys: Sequence[str]) -> None:
        self.delete_keys(keys)

    def __repr__(self) -> str:
        return f"ChromaRecordManager({json.dumps(self.collection_name)})"
