"""HTML and plain-text rendering of answers, sources and documents.

Every piece of document or user text passes through ``esc`` before it enters HTML: corpus files
are untrusted input, and a ``<script>`` or ``onerror=`` inside one must show as text.
Chat messages are single-line HTML blocks (``<div>`` without blank lines), so the chatbot's
Markdown renderer leaves their content alone.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import qa

MARKER = re.compile(r"\[(\d+)\]")
CONTEXT_CHARS = 320  # at most this much surrounding text on each side of a quote
SNIPPET_CHARS = 280  # passages listed as "searched" are cut to this length
LONG_LINE = 150  # a line this long is a paragraph of its own


def esc(text: str) -> str:
    """Escape text for HTML content and attributes."""
    return html.escape(text, quote=True)


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
                label=f"[{n}] {c.title}" + (f" — {c.section}" if c.section else ""),
                source=c.source, title=c.title, section=c.section, start=c.start, end=c.end,
            )
            for n, c in enumerate(answer.citations, 1)
        ]
    return [
        Place(
            label=f"searched #{n}: {p.title}" + (f" — {p.section}" if p.section else ""),
            source=p.source, title=p.title, section=p.section, start=p.start, end=p.end,
        )
        for n, p in enumerate(answer.passages, 1)
    ]


# --- chat messages -------------------------------------------------------------------------


def user_message(text: str) -> str:
    if not text.strip():
        return '<div class="qa-user qa-note">(empty question)</div>'
    return f'<div class="qa-user">{_lines(esc(text))}</div>'


def pending_message(text: str, note: str = "") -> str:
    """The answer while it streams (or a note while the index loads)."""
    body = _lines(esc(text)) if text else f'<span class="qa-note">{esc(note)}</span>'
    return f'<div class="qa-answer qa-pending">{body}<span class="qa-cursor">▍</span></div>'


def error_message(text: str) -> str:
    return f'<div class="qa-error"><strong>⚠ Could not answer.</strong> {_lines(esc(text))}</div>'


def _markers(escaped_text: str, citations: Sequence[qa.Citation]) -> str:
    """Style the ``[n]`` markers that point at a citation; the literal ``[n]`` stays visible."""

    def repl(m: re.Match[str]) -> str:
        n = int(m.group(1))
        if not 1 <= n <= len(citations):
            return m.group(0)
        c = citations[n - 1]
        tip = esc(f"{c.title}: {c.quote}")
        return f'<span class="qa-marker" title="{tip}">[{n}]</span>'

    return MARKER.sub(repl, escaped_text)


def answer_message(answer: qa.Answer) -> str:
    """The final chat bubble: cited answer with a sources line, or a distinct abstention."""
    notice = (
        f'<div class="qa-notice">ℹ {esc(answer.notice)}</div>' if answer.notice else ""
    )
    if answer.abstained:
        searched = len(answer.passages)
        return (
            '<div class="qa-abstain"><div class="qa-abstain-label">Not in the sources</div>'
            f"{_lines(esc(answer.text))}"
            f'<div class="qa-searched">Searched {searched} passage{"s" if searched != 1 else ""}'
            " — see the sources panel.</div>"
            f"{notice}</div>"
        )
    text = _markers(_lines(esc(answer.text)), answer.citations)
    sources = "".join(
        f'<li>[{n}] {esc(c.title)}{" — " + esc(c.section) if c.section else ""}</li>'
        for n, c in enumerate(answer.citations, 1)
    )
    return (
        f'<div class="qa-answer">{text}'
        f'<ol class="qa-cited">{sources}</ol>{notice}</div>'
    )


def answer_plain(answer: qa.Answer) -> str:
    """Answer text followed by its sources, for API clients (``/chat``)."""
    if answer.abstained or not answer.citations:
        return answer.text
    lines = [answer.text, "", "Sources:"]
    for n, c in enumerate(answer.citations, 1):
        where = f"{c.title}" + (f" ({c.section})" if c.section else "")
        quote = " ".join(c.quote.split())
        lines.append(f"[{n}] {where} — “{quote}”")
    return "\n".join(lines)


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
        score = f' <span class="qa-score">score {p.score:.4f}</span>' if show_scores else ""
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
            f"<p>What was searched ({searched_n} passages, best first"
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
            score = f' <span class="qa-score">score {s:.4f}</span>' if s is not None else ""
        cards.append(
            f'<div class="qa-card" data-n="{n}"><div class="qa-card-head">'
            f'<span class="qa-marker">[{n}]</span>{score}</div>'
            f"{_heading(c.title, c.section)}"
            f'<div class="qa-context">{body}</div>'
            f'<div class="qa-where">{esc(c.source)}, characters {c.start}–{c.end}</div></div>'
        )
    return (
        '<div class="qa-sources">'
        + "".join(cards)
        + f"<details><summary>All {searched_n} passages searched</summary>"
        + _searched(answer.passages, show_scores)
        + "</details></div>"
    )


def document_view(place: Place | None, text: str | None) -> str:
    """The whole source document with the chosen span highlighted (scrolled to by the UI)."""
    if place is None or text is None:
        return '<div class="qa-doc qa-empty">Choose a citation to see it in its document.</div>'
    return (
        f'<div class="qa-doc">{_heading(place.title, place.section)}'
        f'<div class="qa-where">{esc(place.source)}</div>'
        f'<div class="qa-doc-text">{highlight(text, place.start, place.end, context=None)}'
        "</div></div>"
    ).replace("<mark>", '<mark id="qa-target">', 1)


# --- header --------------------------------------------------------------------------------


def header(info: qa.CorpusInfo | None, error: str | None = None) -> str:
    """The corpus line: documents, chunks, when indexed (or why it is unavailable)."""
    if info is None:
        note = esc(error) if error else "Loading the corpus and the model…"
        return f'<div class="qa-header"><h1>outlook-qa</h1><p class="qa-note">{note}</p></div>'
    docs = "".join(
        f"<li>{esc(d.title)}"
        + (f" <span class='qa-date'>({esc(d.date)})</span>" if d.date else "")
        + f" — {d.chunks} chunks</li>"
        for d in info.documents
    )
    skipped = "".join(
        f"<li>skipped {esc(source)}: {esc(reason)}</li>" for source, reason in info.skipped
    )
    when = esc(info.indexed_at or "unknown time")
    return (
        '<div class="qa-header"><h1>outlook-qa</h1>'
        f"<p>Answers with citations from <strong>{len(info.documents)} documents</strong> "
        f"({info.chunks} chunks), indexed {when}.</p>"
        f"<details><summary>Documents</summary><ul>{docs}{skipped}</ul></details></div>"
    )


def reindex_summary(summary: str) -> str:
    return f'<pre class="qa-summary">{esc(summary)}</pre>'
