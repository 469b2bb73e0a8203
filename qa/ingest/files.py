"""Find corpus files and read what sits beside them: discovery, hashes, sidecar metadata.

Only regular files with a known suffix are indexable; everything passed over is reported with a
reason, so later stages never trip over a broken symlink, a socket or a symlink loop.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
from pathlib import Path

from qa.errors import CorpusError

TEXT_SUFFIXES = {".txt": "text", ".md": "markdown", ".markdown": "markdown", ".html": "html",
                 ".htm": "html", ".pdf": "pdf"}
META_SUFFIX = ".meta.json"
MAX_FILE_BYTES = 20 * 1024 * 1024  # larger files are skipped with a warning


class SkippedDocument(Exception):
    """A corpus file that cannot be indexed; the message says why."""


OUTSIDE = "symlink to a file outside the corpus; set QA_FOLLOW_OUTSIDE_SYMLINKS=1 to index it"


def discover(
    corpus_dir: Path, *, follow_outside: bool = False
) -> tuple[list[Path], list[tuple[str, str]]]:
    """Indexable files under ``corpus_dir`` and (file, reason) for those passed over.

    Only regular files are returned: broken or looping symlinks, sockets, unreadable
    directories and (unless ``follow_outside``) symlinks to files or directories outside the
    corpus directory are reported here, so later stages never trip over them.
    """
    if not corpus_dir.is_dir():
        raise CorpusError(
            f"corpus directory {corpus_dir} does not exist; create it or set QA_CORPUS_DIR"
        )
    found: list[Path] = []
    skipped: list[tuple[str, str]] = []
    seen_dirs: set[tuple[int, int]] = set()
    real_root = os.path.realpath(corpus_dir)

    def outside(path: str) -> bool:
        if follow_outside:
            return False
        real = os.path.realpath(path)
        return real != real_root and not real.startswith(real_root.rstrip(os.sep) + os.sep)

    def unreadable(exc: OSError) -> None:
        where = Path(exc.filename) if exc.filename else corpus_dir
        skipped.append((relative_name(where, corpus_dir), f"cannot read directory: {exc.strerror}"))

    for root, dirs, files in os.walk(corpus_dir, followlinks=True, onerror=unreadable):
        try:
            st = os.stat(root)
        except OSError as exc:
            skipped.append((relative_name(Path(root), corpus_dir), f"cannot read: {exc.strerror}"))
            dirs[:] = []
            continue
        key = (st.st_dev, st.st_ino)
        if key in seen_dirs:  # a symlink loop: do not walk the same directory twice
            skipped.append(
                (relative_name(Path(root), corpus_dir), "symlink loop (directory seen before)")
            )
            dirs[:] = []
            continue
        seen_dirs.add(key)
        if outside(root):
            skipped.append((relative_name(Path(root), corpus_dir),
                            OUTSIDE.replace("a file", "a directory")))
            dirs[:] = []
            continue
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            path = Path(root) / name
            if name.startswith(".") or name.endswith(META_SUFFIX) or name.lower() == "readme.md":
                continue
            if path.suffix.lower() not in TEXT_SUFFIXES:
                unsupported = f"unsupported file type {path.suffix!r}"
                skipped.append((relative_name(path, corpus_dir), unsupported))
                continue
            reason = _not_a_file(path)
            if reason is None and outside(str(path)):
                reason = OUTSIDE
            if reason:
                skipped.append((relative_name(path, corpus_dir), reason))
                continue
            found.append(path)
    return found, skipped


def _not_a_file(path: Path) -> str | None:
    """Why ``path`` cannot be read as a regular file, or None when it can."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return "broken symlink or file removed while scanning"
    except OSError as exc:  # ELOOP for a symlink pointing at itself
        return f"cannot read: {exc.strerror or exc}"
    if not stat.S_ISREG(st.st_mode):
        return "not a regular file"
    return None


MAX_NAME_CHARS = 1024  # a document name longer than this is refused, not looked up


def check_source_name(source: object) -> str:
    """``source`` as a corpus-relative name (forward slashes, normalised), or
    ``QuestionError`` saying why it cannot name a document (not text, empty, a NUL, a lone
    surrogate, too long, absolute, or outside the corpus)."""
    from qa.errors import QuestionError

    if not isinstance(source, str):
        raise QuestionError(
            f"a document name must be text (str), not {type(source).__name__}; "
            "`python -m qa docs` lists them"
        )
    shown = repr(source[:80]) + ("…" if len(source) > 80 else "")
    if not source.strip() or "\x00" in source or len(source) > MAX_NAME_CHARS:
        raise QuestionError(f"no document {shown} in the corpus; `python -m qa docs` lists them")
    try:
        source.encode("utf-8")
    except UnicodeEncodeError:
        raise QuestionError(f"no document {shown} in the corpus (not valid Unicode)") from None
    name = os.path.normpath(source)
    if name.startswith(("/", "../")) or name in ("..", ".") or any(
        len(part.encode("utf-8")) > 255 for part in name.split("/")
    ):
        raise QuestionError(f"no document {shown} in the corpus; `python -m qa docs` lists them")
    return name


def relative_name(path: Path, corpus_dir: Path) -> str:
    return path.relative_to(corpus_dir).as_posix()


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    # Metadata edits change the document's chunks (title, sections).
    with contextlib.suppress(OSError):
        digest.update(sidecar_path(path).read_bytes())
    return digest.hexdigest()


def sidecar_path(path: Path) -> Path:
    return path.with_name(path.name + META_SUFFIX)


_META_STRINGS = ("title", "author", "issued_by", "author_issuer", "publisher", "date", "url",
                 "source_url", "official_page", "series")


def read_sidecar(path: Path, warnings: list[str] | None = None) -> dict[str, object]:
    """The document's ``.meta.json``; a broken one is ignored with a warning, never fatal
    (the document is still indexed, with metadata from its own header)."""
    warnings = [] if warnings is None else warnings
    meta = sidecar_path(path)
    try:
        raw = meta.read_bytes()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        warnings.append(f"{meta.name}: cannot read ({exc.strerror}); metadata ignored")
        return {}
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        warnings.append(f"{meta.name}: not valid JSON ({exc}); metadata ignored")
        return {}
    if not isinstance(data, dict):
        warnings.append(f"{meta.name}: must hold a JSON object; metadata ignored")
        return {}
    clean: dict[str, object] = {}
    for key, value in data.items():
        if key in _META_STRINGS and value is not None and not isinstance(value, str):
            warnings.append(f"{meta.name}: field {key!r} is not text; ignored")
            continue
        if key == "sections" and not (
            isinstance(value, list) and all(isinstance(v, str) for v in value)
        ):
            warnings.append(f"{meta.name}: 'sections' must be a list of text; ignored")
            continue
        clean[key] = value
    return clean
