"""One writer at a time for a shared Chroma server: a lease with an expiry and a fencing token.

A file lock only keeps out writers of one host, so in server mode the writer also holds a lease
kept on the server, in the ``qa_manifest`` collection: one record per token, ``lease:<n>``
(holder, token ``n``, expiry), the highest token being the current lease. Chroma has no
compare-and-swap, but ``add`` keeps the first record of an id and ignores later ones, so taking
token ``n + 1`` is atomic: of two writers adding it at once, one record stays, and each reads it
back to see whose it is. A lease is taken when the current one is released or expired, renewed
by a thread every third of its length, and checked again before the manifest switch (the
switch is refused when the lease was lost, or when the manifest already carries a later
token): a writer paused past its expiry never overwrites a newer writer's index. Expiry uses
the hosts' clocks, which must agree within a fraction of ``QA_INDEX_LEASE_SECONDS``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

from qa.config import Settings
from qa.errors import IndexBusyError
from qa.index.embedder import DIM
from qa.index.store import chroma_failures, meta_collection, server_client

log = logging.getLogger(__name__)

POLL_SECONDS = 0.5  # how often a waiting writer looks at the lease again
KEEP_TOKENS = 4  # lease records kept (older ones are deleted by the next holder)


@dataclass(frozen=True)
class LeaseRecord:
    token: int
    holder: str
    expires: float
    released: bool = False

    def free(self, now: float) -> bool:
        return self.released or self.expires <= now


def _record_id(token: int) -> str:
    return f"lease:{token:012d}"


class ServerLease:
    """The writer lease of one Chroma server, as seen by one would-be writer."""

    def __init__(self, settings: Settings) -> None:
        assert settings.chroma_url
        self.chroma_url = settings.chroma_url
        self.client = server_client(settings)
        self.seconds = float(settings.index_lease_seconds)
        self.holder = (f"{socket.gethostname()}:{os.getpid()}:{settings.index_dir}:"
                       f"{uuid.uuid4().hex[:8]}")
        self.token: int | None = None
        self.lost = False
        self.busy: LeaseRecord | None = None  # the other writer's lease, when refused
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # --- reading ----------------------------------------------------------------------------

    def current(self) -> LeaseRecord | None:
        """The lease with the highest token, or None when no writer ever held one."""
        with chroma_failures("reading the writer lease", self.chroma_url):
            res = meta_collection(self.client).get(
                where={"kind": "lease"}, include=["documents"]
            )
        records = []
        for doc in res["documents"]:
            try:
                data = json.loads(doc)
                records.append(LeaseRecord(int(data["token"]), str(data["holder"]),
                                           float(data["expires"]), bool(data.get("released"))))
            except (TypeError, ValueError, KeyError):
                continue
        return max(records, key=lambda r: r.token, default=None)

    # --- taking, keeping, giving back -----------------------------------------------------

    def try_acquire(self) -> LeaseRecord | None:
        """Take the lease if it is free; None when another writer holds it (``busy``)."""
        now = time.time()
        current = self.current()
        if current is not None and not current.free(now):
            self.busy = current
            return None
        token = (current.token if current else 0) + 1
        mine = LeaseRecord(token, self.holder, now + self.seconds)
        with chroma_failures("taking the writer lease", self.chroma_url):
            col = meta_collection(self.client)
            col.add(ids=[_record_id(token)], documents=[_encode(mine)],
                    metadatas=[{"kind": "lease", "token": token}], embeddings=[[0.0] * DIM])
        won = self.current()  # add() kept the first record of this token: whose is it?
        if won is None or won.token != token or won.holder != self.holder:
            self.busy = won or mine
            return None
        self.token = token
        self._prune(token)
        self._start_renewing()
        return won

    def acquire(self, *, wait: bool) -> bool:
        """Hold the lease: True once held; False at once when ``wait`` is off and another
        writer holds it. Waiting lasts while the holder renews its lease (it ends when the
        holder finishes, or dies and its lease expires)."""
        waited = False
        while True:
            if self.try_acquire() is not None:
                return True
            if not wait:
                return False
            if not waited:
                log.warning("%s", self.busy_message())
                waited = True
            time.sleep(POLL_SECONDS)

    def busy_message(self) -> str:
        busy = self.busy
        left = max(0.0, busy.expires - time.time()) if busy else 0.0
        who = busy.holder if busy else "another process"
        return (f"another writer holds the index lease on the Chroma server at "
                f"{self.chroma_url} ({who}, for {left:.0f}s more unless renewed); the index "
                "keeps answering; try again when it is done")

    def check(self) -> None:
        """Raise ``IndexBusyError`` unless this writer still holds the lease (before a switch)."""
        current = self.current()
        ok = (self.token is not None and not self.lost and current is not None
              and current.token == self.token and current.holder == self.holder
              and current.expires > time.time())
        if not ok:
            self.lost = True
            raise IndexBusyError(
                f"this writer lost the index lease on the Chroma server at {self.chroma_url} "
                f"(now held by {current.holder if current else 'nobody'}); nothing was "
                "switched, the index answers as before; run `python -m qa index` again"
            )

    def renew(self) -> bool:
        """Push the expiry on, if the lease is still ours; False (and ``lost``) if not."""
        if self.token is None:
            return False
        current = self.current()
        if current is None or current.token != self.token or current.holder != self.holder:
            self.lost = True
            return False
        mine = LeaseRecord(self.token, self.holder, time.time() + self.seconds)
        with chroma_failures("renewing the writer lease", self.chroma_url):
            meta_collection(self.client).upsert(
                ids=[_record_id(self.token)], documents=[_encode(mine)],
                metadatas=[{"kind": "lease", "token": self.token}], embeddings=[[0.0] * DIM],
            )
        return True

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self.token is None or self.lost:
            return
        try:
            current = self.current()
            if current is not None and current.token == self.token and (
                current.holder == self.holder
            ):
                done = LeaseRecord(self.token, self.holder, time.time(), released=True)
                meta_collection(self.client).upsert(
                    ids=[_record_id(self.token)], documents=[_encode(done)],
                    metadatas=[{"kind": "lease", "token": self.token}],
                    embeddings=[[0.0] * DIM],
                )
        except Exception as exc:  # the lease then expires by itself
            log.warning("could not release the index lease (%s); it expires in %.0fs",
                        exc, self.seconds)
        self.token = None

    def _start_renewing(self) -> None:
        def renew() -> None:
            while not self._stop.wait(self.seconds / 3):
                try:
                    if not self.renew():
                        log.warning("the index lease was taken over; this sync will not switch")
                        return
                except Exception as exc:  # a server hiccup: try again at the next beat
                    log.warning("could not renew the index lease: %s", exc)

        self._stop.clear()
        self._thread = threading.Thread(target=renew, name="qa-index-lease", daemon=True)
        self._thread.start()

    def _prune(self, token: int) -> None:
        old = [_record_id(t) for t in range(max(1, token - 50), token - KEEP_TOKENS + 1)]
        if old:
            with contextlib.suppress(Exception):
                meta_collection(self.client).delete(ids=old)


def _encode(record: LeaseRecord) -> str:
    return json.dumps({"token": record.token, "holder": record.holder,
                       "expires": record.expires, "released": record.released})


@contextlib.contextmanager
def writer_lease(settings: Settings, *, wait: bool = True) -> Iterator[ServerLease | None]:
    """Hold ``settings``' server lease for the block (None when ``wait`` is off and another
    writer holds it)."""
    lease = ServerLease(settings)
    if not lease.acquire(wait=wait):
        yield None
        return
    try:
        yield lease
    finally:
        lease.release()
