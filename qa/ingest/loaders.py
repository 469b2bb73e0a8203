"""Find corpus documents, read them safely and turn each into clean paragraphs.

The *source text* of a document is what offsets point into: the file decoded as UTF-8 for text
formats (another encoding only when UTF-8 fails, with a warning), and the text pypdf extracts for a
PDF (pages joined by a blank line). ``source_text`` returns it, so anyone can check a citation.
"""

from __future__ import annotations

import contextlib
import hashlib
import html
import json
import logging
import os
import re
import stat
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

from qa.errors import CorpusError
from qa.ingest.cleaning import CleanDocument, Paragraph, build_paragraph, clean_lines, split_lines
from qa.models import DocumentMeta

log = logging.getLogger(__name__)

TEXT_SUFFIXES = {".txt": "text", ".md": "markdown", ".markdown": "markdown", ".html": "html",
                 ".htm": "html", ".pdf": "pdf"}
META_SUFFIX = ".meta.json"
MAX_FILE_BYTES = 20 * 1024 * 1024  # larger files are skipped with a warning


class SkippedDocument(Exception):
    """A corpus file that cannot be indexed; the message says why."""


@dataclass
class LoadedDocument:
    """A document read from the corpus: source text, metadata and clean paragraphs."""

    source: str  # path relative to the corpus directory, with forward slashes
    meta: DocumentMeta
    text: str  # the source text offsets point into
    paragraphs: list[Paragraph]
    sha256: str
    warnings: list[str] = field(default_factory=list)


def discover(corpus_dir: Path) -> tuple[list[Path], list[tuple[str, str]]]:
    """Indexable files under ``corpus_dir`` and (file, reason) for those passed over.

    Only regular files are returned: broken or looping symlinks, sockets and unreadable
    directories are reported here, so later stages never trip over them.
    """
    if not corpus_dir.is_dir():
        raise CorpusError(
            f"corpus directory {corpus_dir} does not exist; create it or set QA_CORPUS_DIR"
        )
    found: list[Path] = []
    skipped: list[tuple[str, str]] = []
    seen_dirs: set[tuple[int, int]] = set()

    def unreadable(exc: OSError) -> None:
        where = Path(exc.filename) if exc.filename else corpus_dir
        skipped.append((_rel(where, corpus_dir), f"cannot read directory: {exc.strerror}"))

    for root, dirs, files in os.walk(corpus_dir, followlinks=True, onerror=unreadable):
        try:
            st = os.stat(root)
        except OSError as exc:
            skipped.append((_rel(Path(root), corpus_dir), f"cannot read: {exc.strerror}"))
            dirs[:] = []
            continue
        key = (st.st_dev, st.st_ino)
        if key in seen_dirs:  # a symlink loop: do not walk the same directory twice
            skipped.append((_rel(Path(root), corpus_dir), "symlink loop (directory seen before)"))
            dirs[:] = []
            continue
        seen_dirs.add(key)
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            path = Path(root) / name
            if name.startswith(".") or name.endswith(META_SUFFIX) or name.lower() == "readme.md":
                continue
            if path.suffix.lower() not in TEXT_SUFFIXES:
                skipped.append((_rel(path, corpus_dir), f"unsupported file type {path.suffix!r}"))
                continue
            reason = _not_a_file(path)
            if reason:
                skipped.append((_rel(path, corpus_dir), reason))
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


def _rel(path: Path, corpus_dir: Path) -> str:
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


def decode(data: bytes, name: str, warnings: list[str]) -> str:
    """UTF-8 (or UTF-16 with a BOM), else a legacy single-byte encoding with a warning;
    binary data is refused."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise SkippedDocument(f"broken UTF-16 text ({exc.reason})") from exc
    if b"\x00" in data[:8192]:
        raise SkippedDocument("binary content (NUL bytes) in a text file")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        text = data.decode("cp1252", errors="replace")
        bad = text.count("\ufffd")
        if bad > max(10, len(text) // 100):
            raise SkippedDocument(f"not UTF-8 and not readable text ({exc.reason})") from exc
        warnings.append(f"{name}: not valid UTF-8 ({exc.reason} at byte {exc.start}); "
                        "read as Windows-1252, offsets refer to that reading")
    head = text[:8192]
    controls = sum(1 for ch in head if ord(ch) < 32 and ch not in "\t\n\r\f\v")
    if controls > max(8, len(head) // 20):
        raise SkippedDocument("binary content (control characters) in a text file")
    return text


def load_document(path: Path, corpus_dir: Path) -> LoadedDocument:
    """Read and clean one file; raise ``SkippedDocument`` with the reason when it cannot be."""
    source = _rel(path, corpus_dir)
    kind = TEXT_SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise SkippedDocument(f"unsupported file type {path.suffix!r}")
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise SkippedDocument(
                f"{size / 2**20:.0f} MiB is over the {MAX_FILE_BYTES / 2**20:.0f} MiB limit; "
                "split it into smaller files"
            )
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise SkippedDocument("file disappeared while indexing") from exc
    except OSError as exc:
        raise SkippedDocument(f"cannot read: {exc.strerror or exc}") from exc
    if not data.strip():
        raise SkippedDocument("empty file")
    warnings: list[str] = []
    sidecar = read_sidecar(path, warnings)
    warnings = [f"{source}: {w}" for w in warnings]
    digest = hashlib.sha256(data)
    with contextlib.suppress(OSError):
        digest.update(sidecar_path(path).read_bytes())
    sidecar_title = sidecar.get("title")
    title_hint = str(sidecar_title) if sidecar_title else None
    if kind == "pdf":
        text = pdf_text(data)
        cleaned = clean_lines(split_lines(text), title=title_hint, markdown=False)
    elif kind == "html":
        text = decode(data, source, warnings)
        cleaned = clean_html(text)
    else:
        text = decode(data, source, warnings)
        cleaned = clean_lines(split_lines(text), title=title_hint, markdown=kind == "markdown")
    if not any(p.text for p in cleaned.paragraphs):
        raise SkippedDocument("no readable text after cleaning")
    meta = _metadata(path, sidecar, cleaned)
    return LoadedDocument(
        source=source,
        meta=meta,
        text=text,
        paragraphs=cleaned.paragraphs,
        sha256=digest.hexdigest(),
        warnings=warnings,
    )


def _metadata(path: Path, sidecar: dict[str, object], cleaned: CleanDocument) -> DocumentMeta:
    header = cleaned.header

    def pick(*keys: str) -> str | None:
        for key in keys:
            value = sidecar.get(key) or header.get(key)
            if value:
                return str(value)
        return None

    title = pick("title") or _first_words(cleaned) or path.stem
    sections = sidecar.get("sections")
    return DocumentMeta(
        title=title,
        author=pick("author", "issued_by", "author_issuer"),
        publisher=pick("publisher", "issued_by"),
        date=pick("date"),
        url=pick("url", "source_url", "official_page"),
        sections=tuple(str(s) for s in sections) if isinstance(sections, list)
        else tuple(cleaned.headings),
    )


def _first_words(cleaned: CleanDocument) -> str | None:
    for p in cleaned.paragraphs:
        if p.text:
            return p.text[:80]
    return None


def source_text(path: Path) -> str:
    """The text that a document's offsets point into (see the module docstring)."""
    data = path.read_bytes()
    if path.suffix.lower() == ".pdf":
        return pdf_text(data)
    return decode(data, path.name, [])


def pdf_text(data: bytes) -> str:
    """Text of a PDF, pages joined by a blank line; a broken PDF is skipped, not fatal."""
    import io

    logging.getLogger("pypdf").setLevel(logging.ERROR)  # its repair chatter is not ours
    try:
        from pypdf import PdfReader

        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise SkippedDocument("encrypted PDF; save an unencrypted copy")
        pages = [page.extract_text() or "" for page in reader.pages]
    except SkippedDocument:
        raise
    except Exception as exc:  # pypdf raises many types (and RecursionError) on broken files
        raise SkippedDocument(f"corrupt or unreadable PDF ({type(exc).__name__}: {exc})") from exc
    return "\n\n".join(pages)


# --- HTML ---------------------------------------------------------------------------------

_BLOCK_TAGS = {"p", "div", "section", "article", "li", "ul", "ol", "table", "tr", "td", "th",
               "br", "blockquote", "pre", "header", "footer", "main", "nav", "dd", "dt", "hr"}
_HEADING_TAGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
_SKIP_TAGS = {"script", "style", "noscript", "template", "head", "svg"}


class _HTMLText(HTMLParser):
    """Collects text pieces with raw offsets, split into paragraphs at block tags."""

    def __init__(self, raw: str) -> None:
        super().__init__(convert_charrefs=False)
        self.raw = raw
        self.line_starts = [0] + [m.end() for m in re.finditer(r"\r\n|\r|\n", raw)]
        self.blocks: list[tuple[str, list[tuple[str, int]]]] = []  # (kind, pieces)
        self.pieces: list[tuple[str, int]] = []
        self.kind = "p"
        self.skip = 0
        self.title: str | None = None
        self.in_title = False

    def _offset(self) -> int:
        line, col = self.getpos()
        return self.line_starts[line - 1] + col

    def _flush(self) -> None:
        if self.pieces:
            self.blocks.append((self.kind, self.pieces))
        self.pieces = []
        self.kind = "p"

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title":
            self.in_title = True
        if tag in _SKIP_TAGS:
            self.skip += 1
        elif tag in _BLOCK_TAGS or tag in _HEADING_TAGS:
            self._flush()
            if tag in _HEADING_TAGS:
                self.kind = "h"

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self.in_title = False
        if tag in _SKIP_TAGS:
            self.skip = max(0, self.skip - 1)
        elif tag in _BLOCK_TAGS or tag in _HEADING_TAGS:
            self._flush()

    def handle_data(self, data: str) -> None:
        if self.in_title:
            self.title = (self.title or "") + data
            return
        if self.skip:
            return
        self.pieces.append((data, self._offset()))

    def _ref(self, text: str) -> None:
        if self.skip or self.in_title:
            return
        start = self._offset()
        # The decoded character stands at the entity's first raw character.
        self.pieces.append((text, start))

    def handle_entityref(self, name: str) -> None:
        self._ref(html.unescape(f"&{name};")[:1])

    def handle_charref(self, name: str) -> None:
        self._ref(html.unescape(f"&#{name};")[:1])


def clean_html(raw: str) -> CleanDocument:
    """Paragraphs of an HTML page; headings become sections, scripts and styles are dropped."""
    parser = _HTMLText(raw)
    parser.feed(raw)
    parser.close()
    parser._flush()
    paragraphs: list[Paragraph] = []
    section: str | None = None
    headings: list[str] = []
    for kind, pieces in parser.blocks:
        para = _html_paragraph(pieces)
        if not para.text:
            continue
        if kind == "h":
            section = para.text
            headings.append(section)
            continue
        para.section = section
        paragraphs.append(para)
    header = {"title": parser.title.strip()} if parser.title and parser.title.strip() else {}
    return CleanDocument(paragraphs=paragraphs, header=header, headings=headings)


def _html_paragraph(pieces: list[tuple[str, int]]) -> Paragraph:
    # Entity pieces are one decoded character long; build_paragraph maps characters one to one,
    # which is exactly right for plain data and puts an entity at its raw start.
    return build_paragraph(pieces, strip_markup=False, joined=False)
