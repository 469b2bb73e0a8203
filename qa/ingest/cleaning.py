"""Turn raw document lines into clean paragraphs that remember their raw offsets.

Cleaning never edits a file: every character of a cleaned paragraph keeps the offset of the raw
character it came from, so any cleaned span maps back to a verbatim span of the source text.
The rules are general (separator runs, repeated title lines, a trailing list of headings,
paragraph terminators, hard-wrapped lines), not tuned to one file. Markdown has its own parser
(``qa.ingest.markdown``), which reuses the header, repeated-line and paragraph-building rules.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

SEPARATOR_LINE = re.compile(r"^[\s|\-–—_=*~#.•·]*$")
HEADER_FIELD = re.compile(
    r"^(TITLE|ISSUED BY|AUTHOR/ISSUER|AUTHOR|PUBLISHER|DATE|SOURCE URL|OFFICIAL PAGE|URL|SERIES)"
    r":\s*(.*\S)\s*$"
)
_MD_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_TRAILING_HEADING = re.compile(r"^\|\s*(\S.*?)\s*\|?\s*$")
_BLOCK_END = re.compile(r"\s+-\s*$")  # a paragraph that closes a block ends with " -"
_EMPHASIS = re.compile(r"(?<![\w*])(\*{1,3}|_{1,3})(?=\S)|(?<=\S)(\*{1,3}|_{1,3})(?![\w*])")
_ALLCAPS_HEADING = re.compile(r"^(?=.*[A-Z]{3})[A-Z0-9 ,;:'’()\-–—§.&/]{6,120}$")
_WORD = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True)
class Line:
    """One raw line: its text (without the newline) and its offset in the raw text."""

    text: str
    start: int

    @property
    def end(self) -> int:
        return self.start + len(self.text)


@dataclass
class Paragraph:
    """Cleaned paragraph text with, for every character, its offset in the raw text."""

    text: str
    positions: list[int]
    section: str | None = None
    block: int = 0

    def raw_span(self, start: int, end: int) -> tuple[int, int]:
        """Raw ``[start, end)`` covering cleaned characters ``[start, end)``."""
        return self.positions[start], self.positions[end - 1] + 1


@dataclass
class CleanDocument:
    """The outcome of cleaning: paragraphs plus what the rules found on the way."""

    paragraphs: list[Paragraph]
    header: dict[str, str] = field(default_factory=dict)
    headings: list[str] = field(default_factory=list)


def split_lines(raw: str) -> list[Line]:
    """Lines with their raw offsets; ``\\r\\n``, ``\\r`` and ``\\n`` each end one line."""
    lines = []
    pos = 0
    for m in re.finditer(r"\r\n|\r|\n", raw):
        lines.append(Line(raw[pos : m.start()], pos))
        pos = m.end()
    lines.append(Line(raw[pos:], pos))
    return lines


def _words(text: str) -> set[str]:
    return set(_WORD.findall(text.lower()))


def build_paragraph(
    spans: Iterable[tuple[str, int]], *, strip_markup: bool, joined: bool = True
) -> Paragraph:
    """Join raw pieces (text, raw offset) into one paragraph with single spaces.

    With ``joined`` the pieces are lines (a line break between them); otherwise they are
    consecutive pieces of one stream (HTML text and entities). Whitespace runs become one space
    mapped to the first raw whitespace character; Markdown emphasis markers are dropped when
    ``strip_markup`` is set.
    """
    parts: list[str] = []
    stream_pos: list[int] = []
    for i, (text, offset) in enumerate(spans):
        if joined and i > 0:
            parts.append("\n")
            stream_pos.append(max(0, offset - 1))
        parts.append(text)
        if len(text) == 1:
            stream_pos.append(offset)
        else:
            stream_pos.extend(range(offset, offset + len(text)))
    stream = "".join(parts)
    out: list[str] = []
    pos: list[int] = []
    for m in re.finditer(r"\S+", stream):
        s, e = m.span()
        token = m.group()
        keep = _keep_mask(token) if strip_markup and ("*" in token or "_" in token) else None
        if keep is not None and not any(keep):
            continue
        if out:
            out.append(" ")
            pos.append(stream_pos[s - 1])
        if keep is None:
            out.append(token)
            pos.extend(stream_pos[s:e])
        else:
            for i, ch in enumerate(token):
                if keep[i]:
                    out.append(ch)
                    pos.append(stream_pos[s + i])
    return Paragraph("".join(out), pos)


def _keep_mask(token: str) -> list[bool]:
    keep = [True] * len(token)
    for m in _EMPHASIS.finditer(token):
        s, e = m.span()
        for i in range(s, e):
            keep[i] = False
    return keep


def clean_lines(lines: Sequence[Line], *, title: str | None) -> CleanDocument:
    """Apply the general cleaning rules to the lines of a plain-text document."""
    lines = list(lines)
    header, lines = take_header(lines)
    doc_title = title or header.get("title")
    headings, lines = _take_trailing_headings(lines)
    lines = drop_repeated_lines(lines, doc_title)

    multi_line_paragraphs = _has_wrapped_paragraphs(lines)
    paragraphs: list[Paragraph] = []
    section: str | None = None
    block = 0
    current: list[tuple[str, int]] = []

    def flush() -> None:
        nonlocal current
        if current:
            para = build_paragraph(current, strip_markup=False)
            if para.text:
                para.section = section
                para.block = block
                paragraphs.append(para)
        current = []

    for line in lines:
        text = line.text
        if not text.strip():
            flush()
            continue
        if SEPARATOR_LINE.match(text):
            flush()
            continue
        field_line = HEADER_FIELD.match(text)
        if field_line:  # a header block inside the file opens a new part (e.g. a fact sheet)
            flush()
            if field_line.group(1) == "TITLE":
                section = field_line.group(2)
            continue
        heading = _heading_of(text)
        if heading is not None:
            flush()
            section = heading
            continue
        start = line.start
        ends_block = _BLOCK_END.search(text)
        if ends_block:
            text = text[: ends_block.start()]
        current.append((text, start))
        if ends_block or not multi_line_paragraphs:
            flush()
        if ends_block:
            block += 1
    flush()
    if headings and block > 0:
        _assign_block_sections(paragraphs, headings)
    return CleanDocument(paragraphs=paragraphs, header=header, headings=headings)


def _heading_of(text: str) -> str | None:
    m = _MD_HEADING.match(text)
    if m and text.startswith("#"):
        return _strip_emphasis(m.group(2)) or None
    stripped = text.strip()
    if (
        _ALLCAPS_HEADING.match(stripped)
        and not stripped.endswith((".", ",", ":"))
        and len(re.findall(r"[A-Z]{4,}", stripped)) >= 2
    ):
        return stripped
    return None


def _strip_emphasis(text: str) -> str:
    return re.sub(r"[*_]{1,3}", "", text).strip()


def take_header(lines: list[Line]) -> tuple[dict[str, str], list[Line]]:
    """A leading ``FIELD: value`` header block becomes metadata, not text."""
    header: dict[str, str] = {}
    i = 0
    while i < len(lines) and i < 12:
        m = HEADER_FIELD.match(lines[i].text)
        if not m:
            break
        key = m.group(1).lower().replace(" ", "_").replace("/", "_")
        header[key] = m.group(2)
        i += 1
    return header, lines[i:] if header else lines


def _take_trailing_headings(lines: list[Line]) -> tuple[list[str], list[Line]]:
    """A run of ``| Heading`` lines near the end is a list of section headings."""
    end = len(lines)
    # Allow a short footer (a disclaimer, blank lines) after the list.
    candidates = [i for i, ln in enumerate(lines) if _TRAILING_HEADING.match(ln.text)]
    if not candidates:
        return [], lines
    last = candidates[-1]
    if end - last > 4:
        return [], lines
    first = last
    while first - 1 >= 0 and _TRAILING_HEADING.match(lines[first - 1].text):
        first -= 1
    run = lines[first : last + 1]
    if len(run) < 2 or any(len(ln.text) > 160 for ln in run):
        return [], lines
    headings = [m.group(1) for ln in run if (m := _TRAILING_HEADING.match(ln.text))]
    return headings, lines[:first] + [_blank(ln) for ln in run] + lines[last + 1 :]


def _norm(text: str) -> str:
    return re.sub(r"[\s|\-–—]+", " ", text).strip().lower()


def drop_repeated_lines(lines: list[Line], title: str | None) -> list[Line]:
    """Blank out title lines and truncated copies of later lines (capture artefacts)."""
    norm_title = _norm(title) if title else None
    norms = [_norm(ln.text) for ln in lines]
    kept = []
    for i, ln in enumerate(lines):
        n = norms[i]
        if not n:
            kept.append(ln)
            continue
        if norm_title and (n == norm_title or (len(n) > 20 and n.strip("[] ") == norm_title)):
            kept.append(_blank(ln))
            continue
        if len(n) >= 40 and any(
            j != i and len(norms[j]) > len(n) and norms[j].startswith(n)
            for j in range(i + 1, min(len(lines), i + 40))
        ):
            kept.append(_blank(ln))
            continue
        kept.append(ln)
    return kept


def _blank(line: Line) -> Line:
    """A dropped line still ends the paragraph it sat in, so no clean paragraph ever spans
    raw text that cleaning removed (offsets stay exact)."""
    return Line("", line.start)


def _has_wrapped_paragraphs(lines: list[Line]) -> bool:
    """True when paragraphs are hard-wrapped (joined lines, blank-line separated)."""
    body = [ln for ln in lines if ln.text.strip()]
    if not body:
        return False
    blanks = sum(1 for ln in lines if not ln.text.strip())
    short = sum(1 for ln in body if len(ln.text) <= 100)
    return blanks > 0 and short / len(body) > 0.6


def _assign_block_sections(paragraphs: list[Paragraph], headings: list[str]) -> None:
    """Give each block of paragraphs one of the listed headings, in order.

    With as many blocks as headings the mapping is one to one; with more blocks, a monotone
    alignment maximising word overlap between each heading and its blocks decides which
    headings span several blocks.
    """
    blocks: dict[int, list[Paragraph]] = {}
    for p in paragraphs:
        blocks.setdefault(p.block, []).append(p)
    # The front matter before the first real paragraph block has no section.
    order = sorted(blocks)
    texts = [" ".join(p.text for p in blocks[b]) for b in order]
    nb, nh = len(order), len(headings)
    if nb < nh:
        assignment = list(range(nb))
    else:
        assignment = _align(texts, headings)
    for b, h in zip(order, assignment, strict=True):
        for p in blocks[b]:
            p.section = headings[h]
    # Short lines before the first full paragraph (date, byline) are front matter, not section 1.
    for p in paragraphs:
        if len(p.text) >= 200:
            break
        p.section = None


def _align(texts: list[str], headings: list[str]) -> list[int]:
    """Monotone, onto assignment of blocks to headings maximising overlap (dynamic program)."""
    nb, nh = len(texts), len(headings)
    head_words = [_words(h) - _STOP for h in headings]
    block_words = [_word_counts(t) for t in texts]

    def score(b: int, h: int) -> float:
        counts = block_words[b]
        total = sum(counts.values()) or 1
        return sum(counts.get(w, 0) for w in head_words[h]) / total

    neg = float("-inf")
    best = [[neg] * nh for _ in range(nb)]
    back = [[0] * nh for _ in range(nb)]
    best[0][0] = score(0, 0)
    for b in range(1, nb):
        for h in range(nh):
            stay = best[b - 1][h]
            move = best[b - 1][h - 1] if h > 0 else neg
            prev, best_prev = (h, stay) if stay >= move else (h - 1, move)
            if best_prev == neg:
                continue
            best[b][h] = best_prev + score(b, h)
            back[b][h] = prev
    h = nh - 1
    out = [0] * nb
    for b in range(nb - 1, -1, -1):
        out[b] = h
        h = back[b][h]
    return out


def _word_counts(text: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for w in _WORD.findall(text.lower()):
        if w not in _STOP:
            counts[w] = counts.get(w, 0) + 1
    return counts


_STOP = frozenset(
    "a an and or the of in on for to with by from at as is are was were be this that these those "
    "its it their his her s".split()
)
