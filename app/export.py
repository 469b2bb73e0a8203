"""A conversation exported as Markdown (for people) or JSON (the ``qa.Answer`` fields).

Markdown quotes sit in fenced blocks, verbatim: each is exactly ``source_text[start:end]`` of
the file named above it, so anyone can check a citation mechanically from the export alone.

Bidirectional controls (``render.BIDI_CONTROLS``: a right-to-left override would show the text
after it reversed) are the one exception, as the export is read by people: in the Markdown each
is written as a visible ``<U+202E>``-style tag (the header then says so, and the quote is the
source text with each tag put back as its character). The JSON keeps every character of the
``qa.Answer``, writing these as ``\\u202e``-style escapes: the same data once parsed, and no
reordering in a viewer of the raw file.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

import qa
from app.conversations import Turn
from app.render import BIDI_CONTROLS

_BIDI = re.compile(f"[{BIDI_CONTROLS}]")
BIDI_NOTE = (
    "Bidirectional control characters in the text are shown as tags such as `<U+202E>`: "
    "each stands for that one character of the source."
)


def visible(text: str) -> str:
    """Bidi controls as ``<U+XXXX>`` tags: no text shown reordered."""
    return _BIDI.sub(lambda m: f"<U+{ord(m.group()):04X}>", text)


def _fence(text: str) -> str:
    """A backtick fence longer than any backtick run inside ``text``."""
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


def citation_date(c: qa.Citation, dates: Mapping[str, str | None]) -> str | None:
    return getattr(c, "date", None) or dates.get(c.source)


def to_markdown(
    title: str,
    turns: Sequence[Turn],
    dates: Mapping[str, str | None] | None = None,
    *,
    now: datetime | None = None,
) -> str:
    """The conversation as Markdown: each question, its answer, and each citation with its
    document title, date, section, character offsets and verbatim quote."""
    dates = dates or {}
    when = (now or datetime.now(UTC)).isoformat(timespec="seconds")
    out = [
        f"# {title}",
        "",
        f"Exported from outlook-qa on {when}. Each quote is verbatim: characters start–end "
        "of the named file in the corpus (`qa.source_text(source)[start:end]`).",
    ]
    for i, turn in enumerate(turns, 1):
        a = turn.answer
        out += ["", f"## Question {i}", "", turn.question.strip(), "", "### Answer", ""]
        if a.abstained:
            out += ["*Not in the sources.*", ""]
        out.append(a.text.strip())
        if a.notice:
            out += ["", f"*Note: {a.notice}*"]
        if a.citations:
            out += ["", "### Citations"]
        for n, c in enumerate(a.citations, 1):
            date = citation_date(c, dates)
            out += [
                "",
                f"**[{n}] {c.title}**" + (f" ({date})" if date else ""),
                "",
                f"- section: {c.section or '—'}",
                f"- source: `{c.source}`",
                f"- characters: {c.start}–{c.end} (start={c.start}, end={c.end})",
                "",
            ]
            fence = _fence(c.quote)
            out += [f"{fence}text", c.quote, fence]
    if _BIDI.search("\n".join(out)):
        out.insert(3, BIDI_NOTE)
        out.insert(3, "")
    return visible("\n".join(out)) + "\n"


def to_json(
    title: str, conversation: str | None, turns: Sequence[Turn], *, now: datetime | None = None
) -> str:
    """The conversation as JSON: ``{"title", "id", "exported_at", "turns": [{"question",
    "answer": <every qa.Answer field>}]}``."""
    data = {
        "title": title,
        "id": conversation,
        "exported_at": (now or datetime.now(UTC)).isoformat(timespec="seconds"),
        "turns": [
            {"question": t.question, "answer": dataclasses.asdict(t.answer)} for t in turns
        ],
    }
    text = json.dumps(data, indent=2, ensure_ascii=False)
    return _BIDI.sub(lambda m: f"\\u{ord(m.group()):04x}", text) + "\n"


def file_stem(title: str) -> str:
    """A safe file name stem for an export: ``conversation-<slug>``."""
    slug = re.sub(r"[^A-Za-z0-9]+", "-", title).strip("-").lower()[:50].strip("-")
    return f"conversation-{slug or 'untitled'}"
