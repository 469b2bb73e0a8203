"""PDF text: what pypdf extracts, pages joined by a blank line (the PDF's source text)."""

from __future__ import annotations

import io
import logging

from qa.ingest.files import SkippedDocument


def pdf_text(data: bytes) -> str:
    """Text of a PDF, pages joined by a blank line; a broken PDF is skipped, not fatal."""
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
