"""Markdown documents, parsed with markdown-it-py, cleaned into paragraphs with raw offsets.

markdown-it gives the structure: ATX and setext headings become sections; paragraphs, list items
and block quotes become paragraphs; fenced code, tables, raw HTML blocks and rules are not prose
and are left out (an indented block is kept as literal text: in converted documents it is an
indented signature or date line far more often than code). Inside a paragraph, the inline tokens
say what is text: emphasis markers, link URLs (``[the order](https://x)`` keeps "the order"),
images and inline HTML are dropped; escapes and entities keep their decoded character.

markdown-it reports only line ranges, so each kept piece of text is found in the raw lines in
order, from a cursor that moves past the markup between pieces; every character of a cleaned
paragraph thus keeps the offset of the raw character it came from (``build_paragraph``).
The line rules shared with plain text run first: a leading ``FIELD: value`` header is metadata,
a ``TITLE:`` line later opens a section, and repeated title lines and truncated copies of later
lines (capture artefacts) are blanked.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from typing import TYPE_CHECKING

from qa.ingest.cleaning import (
    HEADER_FIELD,
    SEPARATOR_LINE,
    CleanDocument,
    Line,
    Paragraph,
    build_paragraph,
    drop_repeated_lines,
    take_header,
)

if TYPE_CHECKING:
    from markdown_it import MarkdownIt
    from markdown_it.token import Token

_EMPHASIS_TOKENS = {"em_open", "em_close", "strong_open", "strong_close", "s_open", "s_close"}
_PARSER: MarkdownIt | None = None


def _parser() -> MarkdownIt:
    global _PARSER
    if _PARSER is None:
        from markdown_it import MarkdownIt

        md = MarkdownIt("commonmark").enable(["table", "strikethrough"])
        md.disable("text_join")  # keep escapes and entities apart: their raw form differs
        _PARSER = md
    return _PARSER


def clean_markdown(lines: Sequence[Line], *, title: str | None) -> CleanDocument:
    """Paragraphs, sections and header metadata of a Markdown document given as raw lines."""
    lines = list(lines)
    header, body = take_header(lines)
    masked = set(range(len(lines) - len(body)))  # the header block
    kept = drop_repeated_lines(body, title or header.get("title"))
    offset = len(lines) - len(body)
    masked |= {offset + i for i, (a, b) in enumerate(zip(body, kept, strict=True)) if a != b}
    opens: dict[int, str] = {}  # line -> section opened there by a later ``TITLE:`` field
    for i in range(offset, len(lines)):
        m = HEADER_FIELD.match(lines[i].text)
        if m:
            masked.add(i)
            if m.group(1) == "TITLE":
                opens[i] = m.group(2)
    source = _Source(lines, masked)
    tokens = _parser().parse(source.text)

    paragraphs: list[Paragraph] = []
    headings: list[str] = []
    section: str | None = None
    pending = sorted(opens)
    # The list markers that open a line ("- ", "1. ", "- - " for a nested list): the text of
    # the item is found after them, not at a marker that looks like it ("- \xa0 -").
    markers: dict[int, list[str]] = {}
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok.map is not None:
            while pending and pending[0] < tok.map[0]:
                section = opens[pending.pop(0)]
        if tok.type == "list_item_open" and tok.map is not None:
            markers.setdefault(tok.map[0], []).append(tok.info + tok.markup)
        skip: list[str] = []
        if tok.type in ("heading_open", "paragraph_open") and tok.map is not None:
            skip = markers.pop(tok.map[0], [])
        if tok.type == "heading_open":
            heading = source.inline_paragraph(tokens[i + 1], skip).text
            if heading and not SEPARATOR_LINE.match(heading):
                section = heading
                headings.append(heading)
            i += 3
            continue
        para: Paragraph | None = None
        if tok.type == "paragraph_open":
            para = source.inline_paragraph(tokens[i + 1], skip)
            i += 2
        elif tok.type == "code_block" and tok.map is not None:
            para = source.literal_paragraph(tok.map[0], tok.map[1])
        elif tok.type == "table_open":  # not prose: skip its cells
            while i < len(tokens) and tokens[i].type != "table_close":
                i += 1
        # fence, html_block, hr and the open/close tokens of lists and quotes add no text
        if para is not None and para.text and not SEPARATOR_LINE.match(para.text):
            para.section = section
            paragraphs.append(para)
        i += 1
    return CleanDocument(paragraphs=paragraphs, header=header, headings=headings)


class _Source:
    """The text markdown-it parses (line ends as ``\\n``, masked lines blank) and its map to raw.

    Every line keeps its length, so a position in a line maps to raw by the line's raw start.
    """

    def __init__(self, lines: list[Line], masked: set[int]) -> None:
        parts = [" " * len(ln.text) if i in masked else ln.text for i, ln in enumerate(lines)]
        # markdown-it replaces NUL by U+FFFD; doing it here keeps the text it sees identical.
        self.text = "\n".join(parts).replace("\x00", "\ufffd")
        self.line_starts: list[int] = []
        pos = 0
        for part in parts:
            self.line_starts.append(pos)
            pos += len(part) + 1
        self.raw_starts = [ln.start for ln in lines]
        self.lines = lines

    def raw(self, pos: int) -> int:
        """Raw offset of parsed-text position ``pos`` (a ``\\n`` maps to the raw line end)."""
        i = bisect.bisect_right(self.line_starts, pos) - 1
        return self.raw_starts[i] + (pos - self.line_starts[i])

    def _bounds(self, line_map: list[int] | None) -> tuple[int, int]:
        if line_map is None:
            return 0, len(self.text)
        first, last = line_map
        start = self.line_starts[first] if first < len(self.line_starts) else len(self.text)
        end = self.line_starts[last] if last < len(self.line_starts) else len(self.text)
        return start, end

    def literal_paragraph(self, first: int, last: int) -> Paragraph:
        """Lines ``[first, last)`` as plain text, whitespace squashed."""
        pieces = [(ln.text, ln.start) for ln in self.lines[first:last]]
        return build_paragraph(pieces, strip_markup=False)

    def inline_paragraph(self, inline: Token, skip: Sequence[str] = ()) -> Paragraph:
        """The text of an inline token (a paragraph or heading), offsets into the raw text;
        ``skip``: the list markers its first line opens with, which its text follows."""
        cursor, limit = self._bounds(inline.map)
        for marker in skip:
            cursor = self._past(marker, cursor, limit)
        pieces: list[tuple[str, int]] = []  # (text, position in self.text)
        children = inline.children or []
        autolink = False
        for child in children:
            kind = child.type
            if kind in ("text", "code_inline"):
                if kind == "code_inline":
                    cursor = self._past(child.markup, cursor, limit)
                cursor = self._place(child.content, cursor, limit, pieces)
                if kind == "code_inline":
                    cursor = self._past(child.markup, cursor, limit)
            elif kind == "text_special":  # an escape ("\\*") or an entity ("&amp;")
                at = self.text.find(child.markup, cursor, limit)
                if at < 0:
                    continue
                # "\\*" keeps the "*" itself; "\\0" (nothing escaped) stays as written.
                shift = 1 if child.info == "escape" and child.content != child.markup else 0
                pieces.append((child.content, at + shift))
                cursor = at + len(child.markup)
            elif kind in ("softbreak", "hardbreak"):
                newline = self.text.find("\n", cursor, limit)
                pieces.append(("\n", newline if newline >= 0 else max(cursor - 1, 0)))
                if newline >= 0:
                    cursor = newline + 1
            elif kind == "link_open":
                autolink = child.markup == "autolink"
                cursor = self._past("<" if autolink else "[", cursor, limit)
            elif kind == "link_close":
                if autolink:
                    cursor = self._past(">", cursor, limit)
                else:
                    cursor = self._link_tail(cursor, limit)
                autolink = False
            elif kind == "image":
                cursor = self._past("![", cursor, limit)
                close = self._closing_bracket(cursor, limit)  # just past the alt text's "]"
                if close > cursor:
                    cursor = self._link_tail(close - 1, limit)
            elif kind == "html_inline":
                cursor = self._past(child.content, cursor, limit)
            elif kind in _EMPHASIS_TOKENS:
                cursor = self._past(child.markup, cursor, limit)
        raw_pieces = [(text, self.raw(at)) for text, at in pieces]
        # Stray markers markdown-it left as text ("*ad valorem *rate") go too.
        return build_paragraph(raw_pieces, strip_markup=True, joined=False)

    def _past(self, markup: str, cursor: int, limit: int) -> int:
        at = self.text.find(markup, cursor, limit) if markup else -1
        return at + len(markup) if at >= 0 else cursor

    def _place(self, content: str, cursor: int, limit: int,
               pieces: list[tuple[str, int]]) -> int:
        """Add ``content`` at its next occurrence; character by character when it is not
        verbatim (a code span across a line break, a normalised autolink)."""
        if not content:
            return cursor
        at = self.text.find(content, cursor, limit)
        if at >= 0:
            pieces.append((content, at))
            return at + len(content)
        pos = cursor
        for ch in content:
            if ch.isspace():
                if pos < limit and self.text[pos].isspace():
                    pieces.append((" ", pos))
                continue
            found = self.text.find(ch, pos, limit)
            if found < 0:
                break
            pieces.append((ch, found))
            pos = found + 1
        return pos

    def _closing_bracket(self, cursor: int, limit: int) -> int:
        """Position after the ``]`` closing a bracket opened just before ``cursor``."""
        depth, pos = 1, cursor
        while pos < limit:
            ch = self.text[pos]
            if ch == "\\":
                pos += 2
                continue
            if ch == "[":
                depth += 1
            elif ch == "]":
                depth -= 1
                if depth == 0:
                    return pos + 1
            pos += 1
        return cursor

    def _link_tail(self, cursor: int, limit: int) -> int:
        """Skip a link's ``](destination "title")``, ``][label]`` or ``]`` from ``cursor``."""
        close = self.text.find("]", cursor, limit)
        if close < 0:
            return cursor
        pos = close + 1
        if pos < limit and self.text[pos] == "[":
            end = self.text.find("]", pos, limit)
            return end + 1 if end >= 0 else pos
        if pos < limit and self.text[pos] == "(":
            return _after_parens(self.text, pos, limit)
        return pos


def _after_parens(text: str, pos: int, limit: int) -> int:
    """Position after the ``(...)`` opening at ``pos`` (balanced, quotes and escapes aware)."""
    depth, quote, i = 0, "", pos
    while i < limit:
        ch = text[i]
        if ch == "\\":
            i += 2
            continue
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "\"'" and text[i - 1].isspace():
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return pos

