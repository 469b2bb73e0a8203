"""Atomic file replacement, for every stage that writes a file another reader may open.

A new content is written under a hidden temporary name beside its final one, flushed to disk,
and renamed over it in one ``os.replace``, so a reader (or a crash) sees the old content or the
new, never half of either. This sits in the bottom stage so that any stage may import it: the
corpus uploads, the index's pointer and manifests, a saved BM25 index, the ONNX export.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

TEMP_MARK = ".tmp-"  # temporary names are ``.<final name><mark><random>``


def temporary_beside(path: Path, *, directory: bool = False, mark: str = TEMP_MARK) -> Path:
    """A new, empty, hidden file (or directory) beside ``path``, unique to this call, to write
    ``path``'s new content into before ``replace_with`` moves it into place. Its name starts
    with ``.<path's name><mark>``, so whoever sweeps up after killed writers can find it."""
    prefix = f".{path.name}{mark}"
    if directory:
        made = Path(tempfile.mkdtemp(dir=path.parent, prefix=prefix))
        made.chmod(0o755)
        return made
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=prefix)
    os.close(fd)
    os.chmod(name, 0o644)
    return Path(name)


def replace_with(tmp: Path, path: Path) -> None:
    """Move ``tmp`` over ``path`` in one rename: a file's data is flushed to disk first, and
    the rename itself after it. A directory's files are not flushed (a saved BM25 index is a
    cache, made again when unreadable); ``os.replace`` refuses to replace a non-empty
    directory (``OSError``)."""
    if tmp.is_file():
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
    os.replace(tmp, path)
    with contextlib.suppress(OSError):  # make the rename durable too
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def write_atomic(path: Path, data: bytes | str, *, mark: str = TEMP_MARK) -> None:
    """Write ``data`` (a ``str`` as UTF-8) to ``path`` atomically: a crash leaves the old file
    or the new one, never half of one (and at worst a hidden ``.<name><mark>*`` file)."""
    tmp = temporary_beside(path, mark=mark)
    try:
        tmp.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
        replace_with(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
