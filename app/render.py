"""HTML and plain-text rendering of answers, sources and documents.

Every piece of document or user text passes through ``esc`` before it enters HTML: corpus files
are untrusted input, and a ``<script>`` or ``onerror=`` inside one must show as text. ``esc``
also drops Unicode's bidirectional controls (``BIDI_CONTROLS``: an embedded right-to-left
override would show the text after it reversed), from what is shown only: offsets are computed
on the raw text first, and the stored ``qa.Answer`` keeps every character.
Chat messages are single-line HTML blocks (``<div>`` without blank lines), so the chatbot's
Markdown renderer leaves their content alone.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import qa

MARKER = qa.MARKER
RELEVANCE_TIP = (
    "Relevance: the fused retrieval score (reciprocal-rank fusion of the semantic and keyword "
    "rankings). Higher is more relevant; compare passages of one answer, not across answers."
)
CONTEXT_CHARS = 320  # at most this much surrounding text on each side of a quote
SNIPPET_CHARS = 280  # passages listed as "searched" are cut to this length
LONG_LINE = 150  # a line this long is a paragraph of its own


# Embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069) and the marks
# (LRM, RLM, ALM): each can make displayed text read in another order than it is stored.
BIDI_CONTROLS = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
_BIDI = re.compile(f"[{BIDI_CONTROLS}]")


def shown(text: str) -> str:
    """Text as displayed: without bidirectional controls (offsets stay on the raw text)."""
    return _BIDI.sub("", text)


def esc(text: str) -> str:
    """Escape text for HTML content and attributes (bidi controls dropped, see ``shown``)."""
    return html.escape(shown(text), quote=True)


def plural(n: int, word: str, words: str | None = None) -> str:
    """``1 passage``, ``2 passages``."""
    return f"{n:,} {word if n == 1 else (words or word + 's')}"


def _attr_text(text: str) -> str:
    """Text for an HTML attribute inside a one-block message: newlines as character refs."""
    return esc(text).replace("\r\n", "\n").replace("\n", "&#10;")


def _lines(escaped: str) -> str:
    """Keep a message one HTML block: newlines become ``<br>`` (no blank lines for Markdown)."""
    return escaped.replace("\r\n", "\n").replace("\n", "<br>")


@dataclass(frozen=True, kw_only=True)
class Place:
    """A span of a source the reader can open in the document view."""

    label: str
    source: str
    title: str
    section: str | None
    start: int
    end: int


def places(answer: qa.Answer) -> list[Place]:
    """What the citation chooser offers: the citations, or the passages searched on abstention."""
    if answer.citations:
        return [
            Place(
                label=shown(f"[{n}] {c.title}" + (f" — {c.section}" if c.section else "")),
                source=c.source, title=c.title, section=c.section, start=c.start, end=c.end,
            )
            for n, c in enumerate(answer.citations, 1)
        ]
    return [
        Place(
            label=shown(f"searched #{n}: {p.title}" + (f" — {p.section}" if p.section else "")),
            source=p.source, title=p.title, section=p.section, start=p.start, end=p.end,
        )
        for n, p in enumerate(answer.passages, 1)
    ]


# --- chat messages -------------------------------------------------------------------------


def user_message(text: str) -> str:
    return f'<div class="qa-user">{_lines(esc(text))}</div>'


def pending_message(text: str, note: str = "") -> str:
    """The answer while it streams (or a note while the index loads)."""
    body = _lines(esc(text)) if text else f'<span class="qa-note">{esc(note)}</span>'
    return f'<div class="qa-answer qa-pending">{body}<span class="qa-cursor">▍</span></div>'


def busy_message(text: str) -> str:
    """The index is still being built or repaired: not an answer, not an error; ask again."""
    return f'<div class="qa-busy" role="status"><strong>⏳</strong> {_lines(esc(text))}</div>'


def error_message(text: str) -> str:
    return f'<div class="qa-error"><strong>⚠ Could not answer.</strong> {_lines(esc(text))}</div>'


def marker_button(n: int, c: qa.Citation, turn: int | None) -> str:
    """A ``[n]`` marker as a button: focusable and (through the page script) opening citation
    ``n`` of answer ``turn`` in the document view.

    The chat's sanitiser keeps only plain attributes (no ``aria-*``, no ``data-*``), so the
    target rides in ``value`` ("turn:n") and the accessible name in ``name``; the page script
    copies ``name`` into ``aria-label``.
    """
    tip = _attr_text(f"{c.title}: {' '.join(c.quote.split())}")
    label = esc(f"Citation {n}: {c.title}" + (f", {c.section}" if c.section else ""))
    where = f"{-1 if turn is None else turn}:{n}"
    return (
        f'<button type="button" class="qa-marker" value="{where}" name="{label}" '
        f'title="{tip}">[{n}]</button>'
    )


def _markers(
    escaped_text: str, citations: Sequence[qa.Citation], turn: int | None = None
) -> str:
    """Turn the ``[n]`` markers that point at a citation into buttons; ``[n]`` stays visible."""

    def repl(m: re.Match[str]) -> str:
        n = int(m.group(1))
        if not 1 <= n <= len(citations):
            return m.group(0)
        return marker_button(n, citations[n - 1], turn)

    return MARKER.sub(repl, escaped_text)


def copy_button(answer: qa.Answer) -> str:
    """Copies the answer as plain text with its quotes (the page script does the copying)."""
    return (
        f'<button type="button" class="qa-copy" value="{_attr_text(answer_plain(answer))}" '
        'name="Copy this answer as text, with its quotes" title="Copy as text">'
        "Copy</button>"
    )


def answer_message(answer: qa.Answer, turn: int | None = None) -> str:
    """The final chat bubble: cited answer with a sources line, or a distinct abstention;
    ``turn`` (the answer's index in the conversation) lets its markers open its citations."""
    notice = (
        f'<div class="qa-notice">ℹ {esc(answer.notice)}</div>' if answer.notice else ""
    )
    if answer.abstained:
        searched = len(answer.passages)
        return (
            '<div class="qa-abstain"><div class="qa-abstain-label">Not in the sources</div>'
            f"{_lines(esc(answer.text))}"
            f'<div class="qa-searched">Searched {plural(searched, "passage")}'
            " — see the sources panel.</div>"
            f"{notice}{copy_button(answer)}</div>"
        )
    text = _markers(_lines(esc(answer.text)), answer.citations, turn)
    sources = "".join(
        f'<li>{marker_button(n, c, turn)} {esc(c.title)}'
        f'{" — " + esc(c.section) if c.section else ""}</li>'
        for n, c in enumerate(answer.citations, 1)
    )
    return (
        f'<div class="qa-answer">{text}'
        f'<ol class="qa-cited">{sources}</ol>{notice}{copy_button(answer)}</div>'
    )


def answer_plain(answer: qa.Answer) -> str:
    """Answer text followed by its sources, for API clients (``/chat``) and the Copy button;
    as displayed text, without bidi controls (the stored answer keeps them)."""
    if answer.abstained or not answer.citations:
        return shown(answer.text)
    lines = [answer.text, "", "Sources:"]
    for n, c in enumerate(answer.citations, 1):
        where = f"{c.title}" + (f" ({c.section})" if c.section else "")
        quote = " ".join(c.quote.split())
        lines.append(f"[{n}] {where} — “{quote}”")
    return shown("\n".join(lines))


# --- sources panel -------------------------------------------------------------------------


def context_bounds(text: str, start: int, end: int, width: int = CONTEXT_CHARS) -> tuple[int, int]:
    """The paragraph around ``text[start:end]``, cut to ``width`` chars on each side.

    A paragraph is the span's own line(s) when they are long (one line per paragraph, as in
    web captures), else the blank-line-delimited block (hard-wrapped text).
    """
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    line_end = len(text) if line_end < 0 else line_end
    if line_end - line_start >= LONG_LINE:
        para_start, para_end = line_start, line_end
    else:
        para_start = text.rfind("\n\n", 0, start)
        para_start = 0 if para_start < 0 else para_start + 2
        para_end = text.find("\n\n", end)
        para_end = len(text) if para_end < 0 else para_end
    left = max(para_start, start - width)
    right = min(para_end, end + width)
    if left > para_start:  # cut on a word boundary
        space = text.find(" ", left, start)
        left = space + 1 if space >= 0 else left
    if right < para_end:
        space = text.rfind(" ", end, right)
        right = space if space >= 0 else right
    return left, right


def highlight(text: str, start: int, end: int, *, context: int | None = CONTEXT_CHARS) -> str:
    """Escaped ``text`` (or the paragraph around the span), ``text[start:end]`` in ``<mark>``."""
    start = max(0, min(start, len(text)))
    end = max(start, min(end, len(text)))
    left, right = (0, len(text)) if context is None else context_bounds(text, start, end, context)
    before = ("…" if left > 0 else "") + text[left:start]
    after = text[end:right] + ("…" if right < len(text) else "")
    return f"{esc(before)}<mark>{esc(text[start:end])}</mark>{esc(after)}"


def _relevance(score: float) -> str:
    return (
        f' <span class="qa-score" title="{esc(RELEVANCE_TIP)}">relevance {score:.4f}</span>'
    )


def _score_of(citation: qa.Citation, passages: Iterable[qa.Passage]) -> float | None:
    for p in passages:
        if p.source == citation.source and p.start <= citation.start and citation.end <= p.end:
            return p.score
    return None


def _heading(title: str, section: str | None) -> str:
    sec = f'<div class="qa-section">§ {esc(section)}</div>' if section else ""
    return f'<div class="qa-title">{esc(title)}</div>{sec}'


def _searched(passages: Sequence[qa.Passage], show_scores: bool) -> str:
    items = []
    for n, p in enumerate(passages, 1):
        snippet = " ".join(p.text.split())
        if len(snippet) > SNIPPET_CHARS:
            snippet = snippet[:SNIPPET_CHARS].rsplit(" ", 1)[0] + "…"
        score = _relevance(p.score) if show_scores else ""
        items.append(
            f'<li class="qa-passage"><div class="qa-title">#{n} {esc(p.title)}{score}</div>'
            + (f'<div class="qa-section">§ {esc(p.section)}</div>' if p.section else "")
            + f'<div class="qa-snippet">{esc(snippet)}</div></li>'
        )
    return f'<ol class="qa-passages">{"".join(items)}</ol>'


def sources_panel(
    answer: qa.Answer | None, texts: Mapping[str, str], *, show_scores: bool = False
) -> str:
    """Each cited passage in its paragraph, quote highlighted; on abstention, what was searched.

    ``texts`` maps a source to ``qa.source_text(source)``, which the offsets point into.
    """
    if answer is None:
        return (
            '<div class="qa-sources qa-empty">Ask a question: the passages an answer cites '
            "appear here, each quote highlighted in its paragraph.</div>"
        )
    searched_n = len(answer.passages)
    if answer.abstained or not answer.citations:
        return (
            '<div class="qa-sources qa-abstained">'
            '<div class="qa-abstain-label">The sources do not answer this question</div>'
            f"<p>{esc(answer.text)}</p>"
            f"<p>What was searched ({plural(searched_n, 'passage')}, best first"
            f"{', query: “' + esc(answer.query) + '”' if answer.query else ''}):</p>"
            f"{_searched(answer.passages, show_scores)}</div>"
        )
    cards = []
    for n, c in enumerate(answer.citations, 1):
        text = texts.get(c.source)
        if text is not None and text[c.start : c.end] == c.quote:
            body = highlight(text, c.start, c.end)
        else:  # the file changed since indexing: show the stored quote alone
            body = f"<mark>{esc(c.quote)}</mark>"
        score = ""
        if show_scores:
            s = _score_of(c, answer.passages)
            score = _relevance(s) if s is not None else ""
        cards.append(
            f'<div class="qa-card" data-n="{n}"><div class="qa-card-head">'
            f'<span class="qa-marker-label">[{n}]</span>{score}</div>'
            f"{_heading(c.title, c.section)}"
            f'<div class="qa-context">{body}</div>'
            f'<div class="qa-where">{esc(c.source)}, characters {c.start}–{c.end}</div></div>'
        )
    return (
        '<div class="qa-sources">'
        + "".join(cards)
        + "<details><summary>"
        + ("The 1 passage searched" if searched_n == 1 else f"All {searched_n} passages searched")
        + "</summary>"
        + _searched(answer.passages, show_scores)
        + "</details></div>"
    )


def document_view(place: Place | None, text: str | None) -> str:
    """The whole source document with the chosen span highlighted (scrolled to by the UI);
    a Markdown document reads as text (headings, paragraphs, lists), its markup left out."""
    if place is None or text is None:
        return '<div class="qa-doc qa-empty">Choose a citation to see it in its document.</div>'
    if place.source.lower().endswith((".md", ".markdown")):
        body = f'<div class="qa-doc-text qa-doc-md">{markdown_html(text, place.start, place.end)}'
    else:
        body = f'<div class="qa-doc-text">{highlight(text, place.start, place.end, context=None)}'
    return (
        f'<div class="qa-doc" aria-live="polite">{_heading(place.title, place.section)}'
        f'<div class="qa-where">{esc(place.source)}, characters {place.start}–{place.end}</div>'
        f"{body}</div></div>"
    ).replace("<mark>", '<mark id="qa-target">', 1)


_MD_HEADING = re.compile(r"^(#{1,6})[ \t]+(.*?)[ \t]*#*[ \t]*$")
_MD_ITEM = re.compile(r"^[ \t]*(?:[-*+]|\d{1,3}[.)])[ \t]+")
_MD_RULE = re.compile(r"^[ \t]*(?:[-*_][ \t]*){3,}$")
# Inline markup left out of the view: emphasis runs, code ticks, a link's "](url)" part.
_MD_INLINE = re.compile(r"\*\*|__|`+|(?<=\S)\]\([^)\s]*\)|\[(?=[^\]\n]*\]\()")


def _marked(text: str, a: int, b: int, start: int, end: int) -> str:
    """Escaped ``text[a:b]``, the part inside ``[start, end)`` wrapped in ``<mark>``."""
    lo, hi = max(a, start), min(b, end)
    if lo >= hi:
        return esc(text[a:b])
    return f"{esc(text[a:lo])}<mark>{esc(text[lo:hi])}</mark>{esc(text[hi:b])}"


def _md_inline(text: str, a: int, b: int, start: int, end: int) -> str:
    out, pos = [], a
    for m in _MD_INLINE.finditer(text, a, b):
        out.append(_marked(text, pos, m.start(), start, end))
        pos = m.end()
    out.append(_marked(text, pos, b, start, end))
    return "".join(out)


def markdown_html(text: str, start: int, end: int) -> str:
    """Markdown shown as readable, escaped HTML, block by block, from the raw text itself, so
    the highlight covers exactly the raw span ``text[start:end]`` (minus markup characters)."""
    blocks: list[str] = []
    para: list[str] = []
    items: list[str] = []

    def flush() -> None:
        if para:
            blocks.append("<p>" + " ".join(para) + "</p>")
            para.clear()
        if items:
            blocks.append("<ul>" + "".join(f"<li>{i}</li>" for i in items) + "</ul>")
            items.clear()

    pos = 0
    for line in text.splitlines(keepends=True):
        a = pos
        pos += len(line)
        b = a + len(line.rstrip("\r\n"))
        body = text[a:b]
        if not body.strip():
            flush()
            continue
        heading = _MD_HEADING.match(body)
        if heading:
            flush()
            level = min(6, len(heading.group(1)) + 2)
            inner = _md_inline(text, a + heading.start(2), a + heading.end(2), start, end)
            blocks.append(f"<h{level}>{inner}</h{level}>")
        elif _MD_RULE.match(body):
            flush()
            blocks.append("<hr>")
        elif item := _MD_ITEM.match(body):
            if para:
                flush()
            items.append(_md_inline(text, a + item.end(), b, start, end))
        elif items and body[:1].isspace():  # a list item's continuation line
            items[-1] += " " + _md_inline(text, a, b, start, end)
        else:
            if items:
                flush()
            para.append(_md_inline(text, a, b, start, end))
    flush()
    return "".join(blocks)


# --- header, documents panel, conversations -------------------------------------------------


def header(info: qa.CorpusInfo | None, error: str | None = None) -> str:
    """The corpus line: documents, chunks, when indexed (or why it is unavailable)."""
    if info is None:
        note = esc(error) if error else "Loading the corpus and the model…"
        return f'<div class="qa-header"><h1>outlook-qa</h1><p class="qa-note">{note}</p></div>'
    when = esc(info.indexed_at or "unknown time")
    return (
        '<div class="qa-header"><h1>outlook-qa</h1>'
        f"<p>Answers with citations from <strong>{plural(len(info.documents), 'document')}"
        f"</strong> ({plural(info.chunks, 'chunk')}), indexed {when}.</p></div>"
    )


STATUS_TEXT = {
    "indexed": "indexed",
    "changed": "changed — updated at the next question",
    "new": "new — indexed at the next question",
    "missing": "file missing — removed at the next question",
    "skipped": "skipped",
}


def documents_table(docs: Sequence[qa.DocumentInfo]) -> str:
    """The documents panel's list: title, name, date, chunk count and status of each."""
    if not docs:
        return '<p class="qa-note" id="qa-nodocs">No documents yet: upload some above.</p>'
    rows = []
    for d in docs:
        status = STATUS_TEXT.get(d.status, d.status)
        if d.reason:
            status += f": {d.reason}"
        rows.append(
            f'<tr data-name="{esc(d.name)}" data-status="{esc(d.status)}">'
            f'<td><div class="qa-title">{esc(d.title)}</div>'
            f'<div class="qa-where">{esc(d.name)}</div></td>'
            f"<td>{esc(d.date or '—')}</td><td>{d.chunks:,}</td>"
            f'<td class="qa-status-{esc(d.status)}">{esc(status)}</td></tr>'
        )
    return (
        f'<table class="qa-doctable"><caption>{plural(len(docs), "document")}</caption>'
        '<thead><tr><th scope="col">Document</th><th scope="col">Date</th>'
        '<th scope="col">Chunks</th><th scope="col">Status</th></tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


@dataclass(frozen=True, kw_only=True)
class UploadResult:
    """One line of the upload results: what happened to one file."""

    name: str
    status: str  # a qa.DocumentChange status, or "refused" (a QAError) or "removed"
    reason: str | None = None
    chunks: int = 0


RESULT_TEXT = {
    "indexed": "indexed",
    "updated": "updated (replaced the earlier version)",
    "unchanged": "unchanged (same content: nothing re-embedded)",
    "removed": "removed from the corpus and the index",
}


def upload_results(results: Sequence[UploadResult], round_id: str = "") -> str:
    """One line per file; ``round_id`` tells one round of results from the next."""
    if not results:
        return ""
    items = []
    for r in results:
        text = RESULT_TEXT.get(r.status, r.status)
        if r.status in ("indexed", "updated", "unchanged"):
            text += f", {plural(r.chunks, 'chunk')}"
        if r.reason:
            text = f"{'refused' if r.status == 'refused' else r.status}: {r.reason}"
        items.append(
            f'<li class="qa-result qa-result-{esc(r.status)}" data-name="{esc(r.name)}">'
            f"<strong>{esc(r.name)}</strong> — {esc(text)}</li>"
        )
    return (
        f'<ul class="qa-results" role="status" data-round="{esc(round_id)}">'
        f'{"".join(items)}</ul>'
    )


def hint(text: str) -> str:
    return f'<div class="qa-hint" role="status">{esc(text)}</div>' if text else ""


def reindex_summary(summary: str) -> str:
    return f'<pre class="qa-summary">{esc(summary)}</pre>'
