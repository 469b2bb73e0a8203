"""Sentence- and paragraph-aware chunks with raw offsets and content-hash ids.

Sentences end at ``. ! ?`` (and a closing quote or bracket) before a capital, digit or quote, but
not after abbreviations ("U.S.", "Mr.", "No."), initials ("J."), or inside numbers ("87.3%",
"$5.31 trillion"). Chunks pack whole sentences, never cross a section, and merge short paragraphs
of one section, so a chunk is a contiguous raw span whose text is verbatim in the source.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass

from langchain_text_splitters import TextSplitter

from qa.ingest.cleaning import Paragraph
from qa.ingest.loaders import LoadedDocument
from qa.models import Chunk, Sentence

ABBREVIATIONS = frozenset(
    """mr mrs ms dr prof st jr sr no nos vol vols vs etc e.g i.e inc ltd co corp gen gov sen rep
    jan feb mar apr jun jul aug sep sept oct nov dec u.s u.k u.n e.u u.s.a u.s.c d.c fed reg
    stat pub p.l a.m p.m art sec secs ch cf al approx dept est fig op para pp pres sr ave
    col lt maj sgt capt adm cmdr rev hon amb""".split()
)
SENTENCE_STARTERS = frozenset(
    "the this that these those it its in however but and as a an for on at if when while we "
    "they he she there thus therefore moreover furthermore meanwhile first second third".split()
)
_BOUNDARY = re.compile(r"[.!?]+[\"'”’)\]]*\s+(?=[\"'“‘(\[]?[A-Z0-9§])")
_TOKEN_BEFORE = re.compile(r"(\S+)$")


@dataclass(frozen=True)
class ChunkSettings:
    """Chunking parameters; a change triggers a full rebuild (they are in the manifest)."""

    max_chars: int = 500
    min_paragraph_chars: int = 160  # shorter paragraphs are merged with their neighbours
    version: int = 7  # bump when the rules (or what a chunk id covers) change

    def fingerprint(self) -> str:
        return f"sentence-chunker/v{self.version}/max{self.max_chars}/min{self.min_paragraph_chars}"


def split_sentences(text: str) -> list[tuple[int, int]]:
    """``[start, end)`` spans of the sentences of a cleaned paragraph."""
    spans: list[tuple[int, int]] = []
    start = 0
    for m in _BOUNDARY.finditer(text):
        end = m.end()
        mark = m.start()
        before = _TOKEN_BEFORE.search(text, max(0, mark - 40), mark + 1)
        token = before.group(1) if before else ""
        following = text[end : end + 12].split(" ", 1)[0]
        if _is_abbreviation(token, following):
            continue
        spans.append((start, len(text[:end].rstrip())))
        start = end
    if start < len(text):
        spans.append((start, len(text.rstrip())))
    return [(s, e) for s, e in spans if e > s]


def _is_abbreviation(token: str, following: str = "") -> bool:
    word = token.lstrip("\"'“‘([").rstrip(".!?\"'”’)]")
    if not word or token.rstrip("\"'”’)]").endswith(("!", "?")):
        return False
    if re.search(r"[\"'”’)\]]\W*$", token):  # "(Position A). The": a closed clause ends
        return False
    low = word.lower()
    if low in ABBREVIATIONS:
        return True
    if len(word) == 1 and word.isupper():  # an initial ("Donald J. Trump"), not "Plan B. The"
        return following.strip("\"'“‘(").lower() not in SENTENCE_STARTERS
    # Dotted acronyms such as "U.S", "D.C", "U.S.C"
    return bool(re.fullmatch(r"(?:[A-Za-z]\.)+[A-Za-z]?", word + "."))


def _split_long(text: str, start: int, end: int, limit: int) -> Iterator[tuple[int, int]]:
    """Cut an over-long sentence at clause punctuation (or spaces) into pieces under ``limit``."""
    while end - start > limit:
        window = text[start : start + limit]
        cut = max(window.rfind("; "), window.rfind(", "), window.rfind(": "))
        if cut < limit // 3:
            cut = window.rfind(" ")
        if cut <= 0:
            cut = limit - 1
        piece_end = start + cut + 1
        while piece_end > start + 1 and text[piece_end - 1] == " ":
            piece_end -= 1  # a piece never ends in the space it was cut at
        yield start, piece_end
        start = start + cut + 1
        while start < end and text[start] == " ":
            start += 1
    if end > start:
        yield start, end


def chunk_document(doc: LoadedDocument, settings: ChunkSettings) -> list[Chunk]:
    """Chunks of one document, in reading order."""
    chunks: list[Chunk] = []
    seen: dict[tuple[str, str | None], int] = {}  # copies of one text so far (for the ids)
    groups = _group_paragraphs(doc.paragraphs, settings)
    for group in groups:
        pieces: list[tuple[Paragraph, int, int]] = []
        for para in group:
            for s, e in split_sentences(para.text):
                for s2, e2 in _split_long(para.text, s, e, settings.max_chars):
                    pieces.append((para, s2, e2))
        current: list[tuple[Paragraph, int, int]] = []
        size = 0
        for piece in pieces:
            length = piece[2] - piece[1]
            if current and size + length + 1 > settings.max_chars:
                chunks.append(_make_chunk(doc, current, seen))
                current, size = [], 0
            current.append(piece)
            size += length + 1
        if current:
            chunks.append(_make_chunk(doc, current, seen))
    return chunks


def _group_paragraphs(
    paragraphs: list[Paragraph], settings: ChunkSettings
) -> list[list[Paragraph]]:
    """Paragraphs chunked together: short neighbours of one section share a group."""
    groups: list[list[Paragraph]] = []
    for para in paragraphs:
        last = groups[-1] if groups else None
        if (
            last is not None
            and last[-1].section == para.section
            and (
                sum(len(p.text) for p in last) < settings.min_paragraph_chars
                or len(para.text) < settings.min_paragraph_chars
            )
            and sum(len(p.text) for p in last) + len(para.text) <= settings.max_chars
        ):
            last.append(para)
        else:
            groups.append([para])
    return groups


def _make_chunk(
    doc: LoadedDocument,
    pieces: list[tuple[Paragraph, int, int]],
    seen: dict[tuple[str, str | None], int],
) -> Chunk:
    sentences = []
    for para, s, e in pieces:
        rs, re_ = para.raw_span(s, e)
        sentences.append(Sentence(start=rs, end=re_, text=para.text[s:e]))
    start, end = sentences[0].start, sentences[-1].end
    text = " ".join(s.text for s in sentences)
    section = pieces[0][0].section
    copy = seen.get((text, section), 0)
    seen[(text, section)] = copy + 1
    return Chunk(
        id=chunk_id(doc.source, text, doc.meta.title, section, copy),
        source=doc.source,
        title=doc.meta.title,
        section=section,
        start=start,
        end=end,
        text=text,
        sentences=tuple(sentences),
    )


def chunk_id(
    source: str, text: str, title: str = "", section: str | None = None, copy: int = 0
) -> str:
    """Content hash of what a chunk's vectors depend on: the same text of the same document,
    under the same title and section, keeps its id (the Chroma record id) wherever it moves,
    so an edit above it does not re-embed it (its offsets are updated in place). ``copy``
    numbers repeats of one text within a document."""
    key = f"{source}\x00{text}\x00{title}\x00{section or ''}\x00{copy}"
    return hashlib.sha256(key.encode()).hexdigest()[:32]


class SentenceTextSplitter(TextSplitter):
    """The same sentence rules behind LangChain's splitter interface (for pipelines using it)."""

    def __init__(self, max_chars: int = 500, **kwargs: object) -> None:
        super().__init__(chunk_size=max_chars, chunk_overlap=0, **kwargs)  # type: ignore[arg-type]
        self._max = max_chars

    def split_text(self, text: str) -> list[str]:
        out: list[str] = []
        current = ""
        for s, e in split_sentences(" ".join(text.split())):
            sentence = " ".join(text.split())[s:e]
            if current and len(current) + 1 + len(sentence) > self._max:
                out.append(current)
                current = ""
            current = f"{current} {sentence}".strip()
        if current:
            out.append(current)
        return out
