"""Open the index in a background thread, so a question waits a bounded time, never for a build.

Before a question the index may have to be built (missing), updated (the corpus changed) or
rebuilt (``qa`` found its files damaged, a Chroma panic included, and repairs them): minutes for
a large corpus. ``IndexGate`` runs that work (``qa.corpus_info``, which opens the index and does
whatever it needs) in one daemon thread per index, and a request waits for it with a deadline:

- while the index is being built, updated or rebuilt, ``wait`` seconds from the start of that
  work (a request joining work already past the bound waits ``JOIN_WAIT``), then the reply says
  so and to ask again in a moment, while the thread finishes the work;
- otherwise (opening a sound index, loading the model on a busy machine) up to ``OPEN_WAIT``.

A rebuild is known from the index status (missing, stale), from a failure while answering, or
from ``qa``'s own warning, logged in the gate's thread, that it is rebuilding a damaged index.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import qa

log = logging.getLogger(__name__)

WAIT_SECONDS = 20.0  # a question waits at most this long for a build (python -m app flag)
JOIN_WAIT = 3.0  # a later question joining a build already past WAIT_SECONDS waits this long
OPEN_WAIT = 180.0  # the bound when nothing is being built (the model loads on a busy machine)

BUSY_TEXT = {
    "missing": "The index is being built from the corpus (this can take a few minutes); "
    "try again in a moment.",
    "stale": "The index is being updated with the changed documents; try again in a moment.",
    "rebuild": "The index is being rebuilt, try again in a moment.",
    "fresh": "The index is still opening (the model is loading); try again in a moment.",
}


class _RebuildWatch(logging.Handler):
    """Notes ``qa``'s warnings that it rebuilds or repairs the index, in a gate's thread."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.gates: dict[int, IndexGate] = {}  # thread id -> the gate running in it

    def emit(self, record: logging.LogRecord) -> None:
        gate = self.gates.get(record.thread or 0)
        if gate is None:
            return
        try:
            text = record.getMessage().lower()
        except Exception:  # a malformed record: not ours to judge
            return
        if "rebuild" in text or "repair" in text:
            gate.rebuilding = True


_watch = _RebuildWatch()
logging.getLogger("qa").addHandler(_watch)


class IndexGate:
    """One background opener of one index; requests wait on it with a deadline."""

    def __init__(
        self, settings: qa.Settings, *, wait: float = WAIT_SECONDS,
        open_wait: float = OPEN_WAIT, opener: Callable[[], Any] | None = None,
    ) -> None:
        self.settings = settings
        self.wait = wait
        self.open_wait = max(open_wait, wait)
        self._opener = opener or (lambda: qa.corpus_info(settings))
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._done.set()  # no run yet
        self._started = 0.0
        self.status = "fresh"  # the index status when the current (or last) run started
        self.rebuilding = False  # the current run repairs a damaged index
        self.error: BaseException | None = None  # what the last run raised, if anything

    _gates: dict[tuple[str, str, str], IndexGate] = {}
    _gates_lock = threading.Lock()

    @classmethod
    def for_settings(cls, settings: qa.Settings) -> IndexGate:
        """The gate of this index in this process (one opener thread per index)."""
        key = (str(settings.corpus_dir), str(settings.index_dir), str(settings.chroma_url))
        with cls._gates_lock:
            gate = cls._gates.get(key)
            if gate is None:
                gate = cls._gates[key] = cls(settings)
            return gate

    @property
    def busy(self) -> bool:
        return not self._done.is_set()

    @property
    def building(self) -> bool:
        """The current run builds, updates or rebuilds the index (not merely opens it)."""
        return self.rebuilding or self.status in ("missing", "stale")

    def start(self, *, repair: bool = False) -> float:
        """Start a run unless one is going (``repair``: answering just found the index
        damaged); the time this request started waiting, for ``ready``."""
        now = time.monotonic()
        with self._lock:
            if not self._done.is_set():  # join the run in progress
                self.rebuilding = self.rebuilding or repair
                return now
            try:
                self.status = qa.index_status(self.settings)
            except qa.QAError:
                self.status = "fresh"
            self.rebuilding = repair
            self.error = None
            self._done.clear()
            self._started = now
            thread = threading.Thread(target=self._run, name="qa-index-open", daemon=True)
            thread.start()
            return now

    def _run(self) -> None:
        ident = threading.get_ident()
        _watch.gates[ident] = self
        error: BaseException | None = None
        try:
            self._opener()
        except BaseException as exc:  # a Chroma panic is a BaseException: never die quietly
            error = exc
        finally:
            _watch.gates.pop(ident, None)
            seconds = time.monotonic() - self._started
            if seconds > 2:
                log.info("the index is ready after %.1f s%s", seconds,
                         f" ({type(error).__name__}: {error})" if error else "")
            self.error = error
            self._done.set()

    def deadline(self, since: float) -> float:
        """Until when a request that started waiting at ``since`` waits."""
        if self.building:
            return max(self._started + self.wait, since + min(JOIN_WAIT, self.wait))
        return since + self.open_wait

    def ready(self, since: float, tick: float | None = None) -> bool:
        """Wait until the run is over (True) or the request's deadline passes (False); with
        ``tick``, return after at most that long, so a caller can show progress."""
        while True:
            left = self.deadline(since) - time.monotonic()
            step = min(left, tick if tick is not None else 0.5)
            if self._done.wait(max(0.0, step)):
                return True
            if tick is not None or time.monotonic() >= self.deadline(since):
                return False

    def expired(self, since: float) -> bool:
        return time.monotonic() >= self.deadline(since)

    def elapsed(self) -> float:
        return time.monotonic() - self._started if self.busy else 0.0

    def busy_text(self) -> str:
        if self.rebuilding:
            return BUSY_TEXT["rebuild"]
        return BUSY_TEXT.get(self.status, BUSY_TEXT["rebuild"])
