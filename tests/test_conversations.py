"""The conversation store (SQLite, per owner) and the Markdown / JSON exports."""

from __future__ import annotations

import json
import re
from pathlib import Path

import qa
from app import export, render
from app.conversations import ConversationStore, Turn, answer_from_json, answer_to_json, title_for

TEXT = "Intro.\n\nThe ferry leaves at 07:15 with ```ticks``` inside.\nNext line.\n\nEnd."
QUOTE = "The ferry leaves at 07:15 with ```ticks``` inside.\nNext line."


def _answer() -> qa.Answer:
    start = TEXT.index(QUOTE)
    c = qa.Citation(source="ferry.md", title="Ferry <Notes>", section="Times", quote=QUOTE,
                    start=start, end=start + len(QUOTE))
    p = qa.Passage(text=QUOTE, source="ferry.md", title="Ferry <Notes>", section="Times",
                   start=start, end=start + len(QUOTE), score=0.5, chunk_id="c1")
    return qa.Answer(text=f"{QUOTE} [1]", abstained=False, citations=[c], passages=[p])


def test_store_keeps_conversations_per_owner(tmp_path: Path) -> None:
    store = ConversationStore(tmp_path / "c.sqlite")
    a = store.create("browser:a", "First")
    store.add_turn("browser:a", a, "When does the ferry leave?", _answer())
    b = store.create("browser:b", "Other")
    assert [s.id for s in store.summaries("browser:a")] == [a]
    assert store.turns("browser:b", a) == []  # not yours
    assert not store.rename("browser:b", a, "stolen") and not store.delete("browser:b", a)
    # a new store over the same file (an app restart) finds everything
    again = ConversationStore(tmp_path / "c.sqlite")
    turns = again.turns("browser:a", a)
    assert turns == [Turn(question="When does the ferry leave?", answer=_answer())]
    assert again.rename("browser:a", a, "  Ferry   times ")
    assert again.summaries("browser:a")[0].title == "Ferry times"
    assert again.summaries("browser:a")[0].turns == 1
    assert again.delete("browser:a", a) and again.summaries("browser:a") == []
    assert [s.id for s in again.summaries("browser:b")] == [b]


def test_answers_round_trip_through_json_ignoring_unknown_fields() -> None:
    answer = _answer()
    assert answer_from_json(answer_to_json(answer)) == answer
    data = json.loads(answer_to_json(answer))
    data["future_field"] = 1
    data["citations"][0]["future"] = 2
    assert answer_from_json(json.dumps(data)) == answer


def test_title_for_cuts_on_a_word() -> None:
    assert title_for("  short   question ") == "short question"
    long = "word " * 30
    assert title_for(long).endswith("…") and len(title_for(long)) <= 61


def test_markdown_export_quotes_verbatim_with_offsets() -> None:
    turns = [Turn(question="When does the ferry leave?", answer=_answer())]
    md = export.to_markdown("Ferry", turns, {"ferry.md": "2025-03-25"})
    assert md.startswith("# Ferry\n")
    assert "**[1] Ferry <Notes>** (2025-03-25)" in md and "- section: Times" in md
    m = re.search(r"start=(\d+), end=(\d+)\)\n\n(`{3,})text\n(.*?)\n\3\n", md, re.S)
    assert m is not None and m.group(3) == "````"  # longer than the quote's own ticks
    assert TEXT[int(m.group(1)):int(m.group(2))] == m.group(4) == QUOTE
    data = json.loads(export.to_json("Ferry", "id1", turns))
    assert data["turns"][0]["answer"]["citations"][0]["quote"] == QUOTE
    assert export.file_stem("Ferry / times?") == "conversation-ferry-times"


def test_answer_bubble_has_marker_buttons_and_plain_copy() -> None:
    html = render.answer_message(_answer(), turn=3)
    assert '<button type="button" class="qa-marker" value="3:1"' in html
    assert 'name="Citation 1: Ferry &lt;Notes&gt;, Times"' in html
    copy = re.search(r'class="qa-copy" value="([^"]*)"', html)
    assert copy is not None and "<" not in copy.group(1).replace("&lt;", "")
    assert "\n" not in html  # one HTML block for the chat's Markdown renderer
    assert "Sources:" in copy.group(1) and "&#10;" in copy.group(1)


def test_markdown_documents_render_as_text_with_the_highlight() -> None:
    text = "# Title\n\nSome **bold** text and a [link](http://x).\n\n- item one\n- item two\n"
    start = text.index("bold")
    html = render.markdown_html(text, start, start + len("bold** text"))
    assert "<h3>Title</h3>" in html and "**" not in html and "http://x" not in html
    assert "<mark>bold</mark><mark> text</mark>" in html
    assert "<ul><li>item one</li><li>item two</li></ul>" in html
    evil = render.markdown_html("# <script>x</script>\n", 0, 0)
    assert "<script>" not in evil and "&lt;script&gt;" in evil


def test_plurals_and_relevance() -> None:
    assert render.plural(1, "passage") == "1 passage"
    assert render.plural(2, "passage") == "2 passages"
    answer = _answer()
    panel = render.sources_panel(answer, {"ferry.md": TEXT}, show_scores=True)
    assert "The 1 passage searched" in panel and "relevance 0.5000" in panel
    assert 'title="Relevance:' in panel
