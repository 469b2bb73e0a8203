"""Read one corpus document into its source text, metadata and clean paragraphs.

The *source text* of a document is what offsets point into: for text formats the file decoded
by ``qa.ingest.decoding`` (UTF-8, or the encoding charset-normalizer detects, with a warning),
for a PDF the text pypdf extracts (pages joined by a blank line). ``source_text`` returns it, so
anyone can check a citation. One module per format does the cleaning: ``cleaning`` (plain text),
``markdown``, ``html``, ``pdf``; ``files`` finds the documents and reads their sidecars.
"""

from __future__ import annotations

import contextlib
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from qa.ingest.cleaning import CleanDocument, Paragraph, clean_lines, split_lines
from qa.ingest.decoding import decode
from qa.ingest.files import (
    MAX_FILE_BYTES,
    META_SUFFIX,
    TEXT_SUFFIXES,
    SkippedDocument,
    discover,
    file_sha256,
    read_sidecar,
    relative_name,
    sidecar_path,
)
from qa.ingest.html import clean_html
from qa.ingest.markdown import clean_markdown
from qa.ingest.pdf import pdf_text
from qa.models import DocumentMeta

__all__ = [  # the ingest stage's entry points, re-exported for the stages above
    "MAX_FILE_BYTES", "META_SUFFIX", "TEXT_SUFFIXES", "LoadedDocument", "SkippedDocument",
    "decode", "discover", "file_sha256", "load_document", "read_sidecar", "sidecar_path",
    "source_text",
]


@dataclass
class LoadedDocument:
    """A document read from the corpus: source text, metadata and clean paragraphs."""

    source: str  # path relative to the corpus directory, with forward slashes
    meta: DocumentMeta
    text: str  # the source text offsets point into
    paragraphs: list[Paragraph]
    sha256: str
    warnings: list[str] = field(default_factory=list)


def load_document(path: Path, corpus_dir: Path) -> LoadedDocument:
    """Read and clean one file; raise ``SkippedDocument`` with the reason when it cannot be."""
    source = relative_name(path, corpus_dir)
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
        cleaned = clean_lines(split_lines(text), title=title_hint)
    else:
        text = decode(data, source, warnings)
        if kind == "html":
            cleaned = clean_html(text)
        elif kind == "markdown":
            cleaned = clean_markdown(split_lines(text), title=title_hint)
        else:
            cleaned = clean_lines(split_lines(text), title=title_hint)
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


def source_text(path: Path) -> str:
    """The text that a document's offsets point into (see the module docstring)."""
    data = path.read_bytes()
    if path.suffix.lower() == ".pdf":
        return pdf_text(data)
    return decode(data, path.name, [])


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
