"""HTML pages: block tags make paragraphs, headings make sections, scripts and styles go.

Offsets come from ``HTMLParser.getpos()`` (line, column). The parser counts lines at ``\n`` only,
so a lone ``\r`` is a character inside a line to it, and the line table here counts the same way;
counting ``\r`` as a line end too (as the text loaders do) made every offset after one drift.
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

from qa.ingest.cleaning import CleanDocument, Paragraph, build_paragraph

_BLOCK_TAGS = {"p", "div", "section", "article", "li", "ul", "ol", "table", "tr", "td", "th",
               "br", "blockquote", "pre", "header", "footer", "main", "nav", "dd", "dt", "hr"}
_HEADING_TAGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
_SKIP_TAGS = {"script", "style", "noscript", "template", "head", "svg"}


class _HTMLText(HTMLParser):
    """Collects text pieces with raw offsets, split into paragraphs at block tags."""

    def __init__(self, raw: str) -> None:
        super().__init__(convert_charrefs=False)
        self.raw = raw
        self.line_starts = [0] + [m.end() for m in re.finditer("\n", raw)]  # as getpos() counts
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
