"""Open the index in a background thread, so a question waits a bounded time, never for a build.

Before a question the index may have to be built (missing), updated (the corpus changed) or
rebuilt (``qa`` found its files damaged, a Chroma panic included, and repairs them): minutes for
a large corpus. ``IndexGate`` runs that work (``qa.corpus_info``, which opens the index and does
whatever it needs) in one daemon thread per index; every request waits for it at most ``wait``
seconds (a request arriving while a long run is already past that bound waits only
``JOIN_WAIT``), then either goes on to answer from the opened index or replies that the index
is being rebuilt and to ask again in a moment, while the thread finishes the work.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import qa

log = logging.getLogger(__name__)

WAIT_SECONDS = 20.0  # a question waits at most this long for the index (python -m app flag)
JOIN_WAIT = 3.0  # a later question joining a run already past WAIT_SECONDS waits this long

BUSY_TEXT = {
    "missing": "The index is being built from the corpus (this can take a few minutes); "
    "try again in a moment.",
    "stale": "The index is being updated with the changed documents; try again in a moment.",
    "fresh": "The index is being rebuilt, try again in a moment.",
}


class IndexGate:
    """One background opener of one index; requests wait on it with a deadline."""

    def __init__(
        self, settings: qa.Settings, *, wait: float = WAIT_SECONDS,
        opener: Callable[[], Any] | None = None,
    ) -> None:
        self.settings = settings
        self.wait = wait
        self._opener = opener or (lambda: qa.corpus_info(settings))
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._done.set()  # no run yet
        self._started = 0.0
        self.status = "fresh"  # the index status when the current (or last) run started
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

    def start(self) -> float:
        """Start a run unless one is going; the deadline (monotonic) a request should wait to."""
        now = time.monotonic()
        with self._lock:
            if not self._done.is_set():  # join the run in progress
                age = now - self._started
                return now + (self.wait - age if age < self.wait else JOIN_WAIT)
            try:
                self.status = qa.index_status(self.settings)
            except qa.QAError:
                self.status = "fresh"
            self._done.clear()
            self._started = now
            threading.Thread(target=self._run, name="qa-index-open", daemon=True).start()
            return now + self.wait

    def _run(self) -> None:
        began = time.monotonic()
        error: BaseException | None = None
        try:
            self._opener()
        except BaseException as exc:  # a Chroma panic is a BaseException: never kill quietly
            error = exc
        finally:
            seconds = time.monotonic() - began
            if seconds > 2:
                log.info("the index is ready after %.1f s%s", seconds,
                         f" ({type(error).__name__}: {error})" if error else "")
            self.error = error
            self._done.set()

    def ready(self, deadline: float, tick: float | None = None) -> bool:
        """Wait until the run is over (True) or ``deadline`` passes (False); with ``tick``,
        return False after at most that long, so a caller can show progress and wait again."""
        left = deadline - time.monotonic()
        if tick is not None:
            left = min(left, tick)
        return self._done.wait(max(0.0, left))

    def elapsed(self) -> float:
        return time.monotonic() - self._started if self.busy else 0.0

    def busy_text(self) -> str:
        return BUSY_TEXT.get(self.status, BUSY_TEXT["fresh"])

