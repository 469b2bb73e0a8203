"""Who may write the index and who reads which generation: ``fcntl`` locks, across processes.

One writer at a time per index directory (``writer_lock``: an exclusive ``flock``, which dies
with a crashed holder). Every process reading a generation holds a shared POSIX lock on its
``readers.lock`` (``ReaderLocks``), so a writer can tell whether it may update that generation
in place or must copy it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
from collections.abc import Iterator
from pathlib import Path

READERS_LOCK = "readers.lock"
WRITER_LOCK = ".lock"


@contextlib.contextmanager
def writer_lock(index_dir: Path, *, wait: bool = True) -> Iterator[bool]:
    """One writer of ``index_dir`` at a time, across processes and threads; a crashed holder's
    lock dies with it. Yields False (without the lock) when ``wait`` is off and another writer
    runs."""
    index_dir.mkdir(parents=True, exist_ok=True)
    with open(index_dir / WRITER_LOCK, "w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


class ReaderLocks:
    """Which generations this process reads: a shared POSIX lock on each one's
    ``readers.lock``, which a writer in another process can test. POSIX locks belong to the
    process (its own shared lock does not stop it from writing), and closing any descriptor of
    the file drops them, so one descriptor per generation is kept here."""

    def __init__(self) -> None:
        self._fds: dict[Path, int] = {}
        self._holders: dict[Path, int] = {}
        self._writing: set[Path] = set()
        self._cond = threading.Condition()

    def acquire(self, generation: Path) -> None:
        """Read ``generation``: waits while a writer (this process or another) updates it."""
        with self._cond:
            while generation in self._writing:
                self._cond.wait()
            if generation not in self._fds:
                fd = os.open(generation / READERS_LOCK, os.O_RDWR | os.O_CREAT, 0o644)
                fcntl.lockf(fd, fcntl.LOCK_SH)
                self._fds[generation] = fd
            self._holders[generation] = self._holders.get(generation, 0) + 1

    def release(self, generation: Path) -> None:
        with self._cond:
            left = self._holders.get(generation, 0) - 1
            if left > 0:
                self._holders[generation] = left
                return
            self._holders.pop(generation, None)
            fd = self._fds.pop(generation, None)
            if fd is not None and generation not in self._writing:
                os.close(fd)

    @contextlib.contextmanager
    def exclusive(self, generation: Path) -> Iterator[bool]:
        """Yield True while this process alone uses ``generation`` (its readers wait), or
        False at once when another process reads it."""
        with self._cond:
            fd = self._fds.get(generation)
            if fd is None:
                fd = os.open(generation / READERS_LOCK, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                if generation not in self._fds:
                    os.close(fd)
                fd = -1
            else:
                self._fds[generation] = fd
                self._writing.add(generation)
        if fd < 0:
            yield False
            return
        try:
            yield True
        finally:
            with self._cond:
                self._writing.discard(generation)
                if self._holders.get(generation):
                    fcntl.lockf(fd, fcntl.LOCK_SH)
                else:
                    self._fds.pop(generation, None)
                    os.close(fd)
                self._cond.notify_all()


reader_locks = ReaderLocks()  # one per process: POSIX locks are per process
