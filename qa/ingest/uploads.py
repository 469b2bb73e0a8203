"""Documents added to or removed from the corpus by a user: names, types, size, atomic writes.

Everything here runs before the corpus directory is touched, so a refused upload writes
nothing, and an accepted one appears under its final name in one ``os.replace``: a reader (or a
sync) sees the old file or the new one, never half of one. A write cut off midway leaves only a
hidden ``.<name>.upload-*`` file, which discovery ignores and the next upload sweeps away.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
import unicodedata
from pathlib import Path

from qa.config import Settings
from qa.errors import CorpusError
from qa.ingest import atomic
from qa.ingest.loaders import META_SUFFIX, SkippedDocument, decode, load_document

ALLOWED_SUFFIXES = (".txt", ".md", ".html", ".pdf")
# The upload cap; Settings may define ``max_upload_bytes`` (QA_MAX_UPLOAD_BYTES), else the
# environment variable is read here, else 20 MB.
DEFAULT_MAX_UPLOAD_BYTES = 20 * 1024 * 1024
MAX_NAME_BYTES = 200
RESERVED_NAMES = {"readme.md"}  # discovery passes over it: it describes the corpus
TEMP_MARK = ".upload-"
STALE_TEMP_SECONDS = 3600.0


def max_upload_bytes(settings: Settings) -> int:
    """The size cap of one uploaded document, in bytes."""
    value = getattr(settings, "max_upload_bytes", None)
    if value is None:
        raw = os.environ.get("QA_MAX_UPLOAD_BYTES", "").strip()
        try:
            value = int(raw) if raw else DEFAULT_MAX_UPLOAD_BYTES
        except ValueError as exc:
            raise CorpusError(f"QA_MAX_UPLOAD_BYTES={raw!r} is not a number of bytes") from exc
    return int(value)


def _size(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 100_000 else f"{n:,} bytes"


def check_plain_name(name: object) -> str:
    """``name`` when it is one plain, visible file name (NFC), else ``CorpusError`` saying why."""
    if not isinstance(name, str):
        raise CorpusError(f"a document name must be a string, got {type(name).__name__}")
    if name != name.strip():
        raise CorpusError(f"document name {name!r} starts or ends with spaces; remove them")
    name = unicodedata.normalize("NFC", name)
    if not name:
        raise CorpusError("the document name is empty")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
        raise CorpusError(f"document name {name!r} holds control characters; rename the file")
    if "/" in name or "\\" in name or os.path.isabs(name) or (len(name) > 1 and name[1] == ":"):
        raise CorpusError(
            f"document name {name!r} is a path; give a plain file name such as 'notes.md'"
        )
    if ".." in name:
        raise CorpusError(f"document name {name!r} contains '..'; rename the file")
    if name.startswith("."):
        raise CorpusError(f"document name {name!r} is a hidden file name; rename the file")
    return name


def check_name(name: object) -> str:
    """The document name to store, or ``CorpusError`` saying why ``name`` is refused.

    A name is one plain file name inside the corpus directory: no directories, no way out of
    it, nothing hidden, and one of the supported extensions.
    """
    name = check_plain_name(name)
    if len(name.encode("utf-8")) > MAX_NAME_BYTES:
        raise CorpusError(f"document name is longer than {MAX_NAME_BYTES} bytes; shorten it")
    if name.lower().endswith(META_SUFFIX):
        raise CorpusError(f"{name!r} is a metadata sidecar name, not a document")
    if name.lower() in RESERVED_NAMES:
        raise CorpusError(f"{name!r} is reserved (the corpus's own README); rename the file")
    suffix = Path(name).suffix.lower()
    if suffix not in ALLOWED_SUFFIXES:
        allowed = " ".join(ALLOWED_SUFFIXES)
        raise CorpusError(
            f"{name!r}: unsupported file type {suffix or '(none)'!r}; use one of {allowed}"
        )
    return name


def to_bytes(name: str, data: object) -> bytes:
    """``data`` as the bytes to store (text is stored as UTF-8)."""
    if isinstance(data, str):
        if name.lower().endswith(".pdf"):
            raise CorpusError(f"{name!r}: a PDF must be given as bytes, not text")
        return data.encode("utf-8")
    if isinstance(data, bytes | bytearray | memoryview):
        return bytes(data)
    raise CorpusError(f"document data must be bytes or str, got {type(data).__name__}")


def check_content(name: str, data: bytes, settings: Settings) -> None:
    """Refuse data over the size cap or whose content is not what its extension says."""
    cap = max_upload_bytes(settings)
    if len(data) > cap:
        raise CorpusError(
            f"{name!r} is {_size(len(data))}, over the {_size(cap)} upload limit "
            "(QA_MAX_UPLOAD_BYTES); split it into smaller files"
        )
    if not data.strip():
        raise CorpusError(f"{name!r} is empty")
    if name.lower().endswith(".pdf"):
        if not data.startswith(b"%PDF-"):
            raise CorpusError(f"{name!r} does not look like a PDF (no %PDF- header)")
        return
    if data.startswith(b"%PDF-"):
        raise CorpusError(f"{name!r} holds a PDF; name it with a .pdf extension")
    try:
        decode(data, name, [])
    except SkippedDocument as exc:
        raise CorpusError(f"{name!r} is not a text file: {exc}") from exc


def check_indexable(name: str, data: bytes) -> str | None:
    """Why the loader would pass over this document (no readable text, an encrypted PDF…),
    or None when it can be indexed; read from a private temp copy, never from the corpus."""
    with tempfile.TemporaryDirectory(prefix="qa-upload-check-") as tmp:
        path = Path(tmp) / name
        path.write_bytes(data)
        try:
            load_document(path, Path(tmp))
        except SkippedDocument as exc:
            return str(exc)
    return None


def corpus_path(settings: Settings, name: str) -> Path:
    """Where ``name`` lives in the corpus directory (which must exist)."""
    root = settings.corpus_dir
    if not root.is_dir():
        raise CorpusError(
            f"corpus directory {root} does not exist; create it or set QA_CORPUS_DIR"
        )
    path = root / name
    if path.resolve().parent != root.resolve() and not path.is_symlink():
        raise CorpusError(f"{name!r} would be written outside the corpus directory")
    return path


def existing_bytes(path: Path) -> bytes | None:
    """The current content of a corpus file; a symlink or a non-file is never replaced."""
    if path.is_symlink():
        raise CorpusError(
            f"{path.name!r} in the corpus is a symbolic link; remove it before uploading "
            "a file of that name"
        )
    if not path.exists():
        return None
    if not path.is_file():
        raise CorpusError(f"{path.name!r} in the corpus is not a regular file")
    return path.read_bytes()


def write_atomic(path: Path, data: bytes) -> None:
    """Write an upload into the corpus atomically (``qa.ingest.atomic``), first sweeping away
    the temp files of uploads a killed process cut off."""
    sweep_temp_files(path.parent)
    atomic.write_atomic(path, data, mark=TEMP_MARK)


def sweep_temp_files(root: Path, older_than: float = STALE_TEMP_SECONDS) -> None:
    """Remove temp files that uploads cut off (a killed process) left behind."""
    now = time.time()
    with contextlib.suppress(OSError):
        for entry in os.scandir(root):
            if entry.name.startswith(".") and TEMP_MARK in entry.name:
                with contextlib.suppress(OSError):
                    if now - entry.stat(follow_symlinks=False).st_mtime > older_than:
                        os.unlink(entry.path)


def remove_files(settings: Settings, name: str) -> bool:
    """Delete a document (``name`` relative to the corpus, ``/``-separated) and its
    ``.meta.json`` sidecar; False when neither existed. A symbolic link is removed as a link:
    what it points at is never touched."""
    parts = name.split("/") if isinstance(name, str) else [name]
    for part in parts:
        check_plain_name(part)
    root = settings.corpus_dir
    if not root.is_dir():
        raise CorpusError(
            f"corpus directory {root} does not exist; create it or set QA_CORPUS_DIR"
        )
    path = root.joinpath(*parts)
    if root.resolve() not in path.parent.resolve().parents and (
        path.parent.resolve() != root.resolve()
    ):
        raise CorpusError(f"{name!r} is outside the corpus directory")
    removed = False
    for target in (path, path.with_name(path.name + META_SUFFIX)):
        if target.is_symlink() or target.exists():
            if target.is_dir() and not target.is_symlink():
                raise CorpusError(f"{target.name!r} in the corpus is a directory")
            target.unlink()
            removed = True
    return removed
