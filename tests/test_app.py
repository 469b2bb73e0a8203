"""The chat front end: render functions (escaping, highlighting) and the ``/chat`` API.

The API tests start ``python -m app`` as a real subprocess over the session index and talk to it
with ``gradio_client``, as a script would.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import qa
from app import render
from app.launcher import running_app
from app.ui import backends

PRIMARY = "sejong-outlook-russia-2025.txt"
ENVOY_Q = "Who was appointed special envoy to manage the war's resolution?"
EVIL = '<script>window.__xss=1</script> and <img src=x onerror="window.__xss=2">'


def _citation(text: str, quote: str, source: str = "doc.txt") -> qa.Citation:
    start = text.index(quote)
    return qa.Citation(
        source=source, title="A <b>title</b>", section="S & <i>", quote=quote,
        start=start, end=start + len(quote),
    )


def _passage(text: str, part: str, score: float = 0.5) -> qa.Passage:
    start = text.index(part)
    return qa.Passage(
        text=part, source="doc.txt", title="A <b>title</b>", section=None, start=start,
        end=start + len(part), score=score, chunk_id="c1",
    )


# --- render: escaping ----------------------------------------------------------------------


def test_esc_escapes_markup_and_quotes() -> None:
    assert render.esc(EVIL) == (
        "&lt;script&gt;window.__xss=1&lt;/script&gt; and "
        "&lt;img src=x onerror=&quot;window.__xss=2&quot;&gt;"
    )


def test_user_and_error_messages_are_escaped_single_blocks() -> None:
    html = render.user_message(EVIL + "\n\nsecond paragraph")
    assert "<script>" not in html and "<img" not in html
    assert "&lt;script&gt;" in html
    assert "\n" not in html  # one HTML block: Markdown must not re-parse its content
    err = render.error_message("bad <b>thing</b>")
    assert "qa-error" in err and "&lt;b&gt;thing&lt;/b&gt;" in err


def test_answer_message_styles_markers_and_escapes_text() -> None:
    text = f"Intro. The quote {EVIL} is here. More."
    c = _citation(text, f"The quote {EVIL} is here.")
    answer = qa.Answer(text=f"{c.quote} [1] Also [7].", abstained=False, citations=[c])
    html = render.answer_message(answer)
    assert "<script>" not in html and "<img" not in html and "<b>" not in html
    # [1] is a button in the text and in the sources line; [7] points at no citation
    assert html.count('<button type="button" class="qa-marker"') == 2
    assert "[1]</button>" in html and "[7]" in html and "[7]</button>" not in html
    assert "A &lt;b&gt;title&lt;/b&gt;" in html


def test_abstention_looks_different_and_mentions_search() -> None:
    text = "Nothing relevant here."
    answer = qa.Answer(
        text="The sources do not say: none of the passages found mentions “Peru”.",
        abstained=True, passages=[_passage(text, "Nothing relevant")],
    )
    html = render.answer_message(answer)
    assert "qa-abstain" in html and "qa-answer" not in html
    assert "Searched 1 passage " in html
    panel = render.sources_panel(answer, {}, show_scores=True)
    assert "qa-abstained" in panel and "Nothing relevant" in panel
    assert "relevance 0.5000" in panel


def test_answer_plain_lists_sources_for_api_clients() -> None:
    text = "One. Kellogg was appointed envoy. Two."
    c = _citation(text, "Kellogg was appointed envoy.")
    plain = render.answer_plain(qa.Answer(text=f"{c.quote} [1]", abstained=False, citations=[c]))
    assert plain.splitlines()[0] == "Kellogg was appointed envoy. [1]"
    assert "Sources:" in plain
    assert "[1] A <b>title</b> (S & <i>) — “Kellogg was appointed envoy.”" in plain


# --- render: highlighting offsets ----------------------------------------------------------


def test_highlight_marks_exact_span_inside_its_paragraph() -> None:
    text = "First para.\n\nBefore <x> the QUOTE & after.\nSame para.\n\nThird para."
    start = text.index("QUOTE")
    html = render.highlight(text, start, start + len("QUOTE &"))
    assert "<mark>QUOTE &amp;</mark>" in html
    assert html.startswith("…Before &lt;x&gt; the ")  # cut at the paragraph start
    assert "Same para." in html and "First para" not in html and "Third" not in html


def test_highlight_long_single_line_paragraphs_are_cut_by_line_and_width() -> None:
    line = "word " * 200
    text = f"{line}\nTarget sentence here. {line}\n{line}"
    start = text.index("Target")
    end = start + len("Target sentence here.")
    left, right = render.context_bounds(text, start, end, width=50)
    assert text[left:right].count("Target sentence here.") == 1
    assert start - left <= 50 and right - end <= 50
    assert left > len(line)  # not into the previous line
    html = render.highlight(text, start, end, context=50)
    assert html.startswith("…") and html.endswith("…")


def test_highlight_clamps_offsets_and_document_view_shows_everything() -> None:
    text = "abc <def> ghi"
    assert render.highlight(text, 4, 99, context=None) == "abc <mark>&lt;def&gt; ghi</mark>"
    place = render.Place(label="[1] t", source="d.txt", title="T<", section=None, start=4, end=9)
    view = render.document_view(place, text)
    assert '<mark id="qa-target">&lt;def&gt;</mark> ghi' in view
    assert "abc " in view and "T&lt;" in view


def test_sources_panel_highlights_each_citation_in_context() -> None:
    text = "Intro line.\n\nAlpha beta. The cited <sentence>. Gamma delta.\n\nOutro."
    c = _citation(text, "The cited <sentence>.")
    answer = qa.Answer(
        text=f"{c.quote} [1]", abstained=False, citations=[c],
        passages=[_passage(text, "Alpha beta. The cited <sentence>. Gamma delta.", 0.25)],
    )
    panel = render.sources_panel(answer, {"doc.txt": text}, show_scores=False)
    assert "Alpha beta. <mark>The cited &lt;sentence&gt;.</mark> Gamma delta." in panel
    assert "relevance" not in panel
    assert "§ S &amp; &lt;i&gt;" in panel
    scored = render.sources_panel(answer, {"doc.txt": text}, show_scores=True)
    assert "relevance 0.2500" in scored
    # a file changed since indexing: the stored quote is still shown, highlighted
    stale = render.sources_panel(answer, {"doc.txt": "changed"}, show_scores=False)
    assert "<mark>The cited &lt;sentence&gt;.</mark>" in stale


def test_places_offer_citations_or_searched_passages() -> None:
    text = "Some text. More text."
    c = _citation(text, "More text.")
    p = _passage(text, "Some text.")
    assert [x.label for x in render.places(qa.Answer(text="x", abstained=False, citations=[c]))] \
        == ["[1] A <b>title</b> — S & <i>"]
    abstained = qa.Answer(text="The sources do not say.", abstained=True, passages=[p])
    assert render.places(abstained)[0].label.startswith("searched #1")


def test_backends_show_extractive_and_configured_ones() -> None:
    assert backends(qa.Settings.from_env(env={})) == ["extractive"]
    configured = qa.Settings.from_env(
        env={"QA_LLM_MODEL": "m", "QA_OPENAI_BASE_URL": "http://127.0.0.1:9/v1"}
    )
    assert backends(configured) == ["extractive", "ollama", "openai"]


def test_real_answer_quotes_are_marked_in_their_source(settings: qa.Settings) -> None:
    answer = qa.ask(ENVOY_Q, settings=settings)
    assert not answer.abstained and answer.citations
    texts = {c.source: qa.source_text(c.source, settings) for c in answer.citations}
    panel = render.sources_panel(answer, texts)
    marked = re.findall(r"<mark>(.*?)</mark>", panel, flags=re.S)
    assert marked == [render.esc(c.quote) for c in answer.citations]
    assert any(c.source == PRIMARY and "Kellogg" in c.quote for c in answer.citations)


# --- the running app -----------------------------------------------------------------------


@pytest.mark.slow
def test_chat_api_returns_cited_answer(app_url: str) -> None:
    from gradio_client import Client

    client = Client(app_url, verbose=False)
    assert "/chat" in client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    reply = client.predict(ENVOY_Q, api_name="/chat")
    assert isinstance(reply, str)
    assert "Kellogg" in reply and "[1]" in reply
    body, _, sources = reply.partition("\n\nSources:\n")
    assert "[1]" in body and sources.startswith("[1] ")
    assert "Outlook on Russia in 2025" in sources and "“" in sources


@pytest.mark.slow
def test_chat_api_takes_history_and_k(app_url: str) -> None:
    from gradio_client import Client

    client = Client(app_url, verbose=False)
    params = client.view_api(print_info=False, return_format="dict")["named_endpoints"]["/chat"]
    names = [p["parameter_name"] for p in params["parameters"]]
    assert names == ["message", "history", "k"]
    assert [p["parameter_has_default"] for p in params["parameters"]] == [False, True, True]
    first = client.predict(ENVOY_Q, api_name="/chat")
    follow = client.predict("What is he reportedly working on?", [[ENVOY_Q, first]], 3,
                            api_name="/chat")
    assert "[1]" in follow and not follow.startswith("Error")
    assert client.predict(ENVOY_Q, None, 50, api_name="/chat").startswith("Error: k must")


@pytest.mark.slow
def test_chat_api_empty_message_is_a_readable_error(app_url: str) -> None:
    from gradio_client import Client

    reply = Client(app_url, verbose=False).predict("   ", api_name="/chat")
    assert reply.startswith("Error: ") and "empty" in reply
    assert "Traceback" not in reply


@pytest.mark.slow
def test_auth_setting_protects_the_app(
    settings: qa.Settings, tmp_path: Path
) -> None:
    """QA_AUTH=user:password: the API refuses anonymous clients and serves logged-in ones."""
    from gradio_client import Client

    env = {
        "QA_CORPUS_DIR": str(settings.corpus_dir), "QA_INDEX_DIR": str(settings.index_dir),
        "QA_AUTH": "reader:s3cret",
    }
    with running_app(env, tmp_path / "app.log") as url:
        with pytest.raises(Exception):  # noqa: B017  (gradio_client raises a plain error)
            Client(url, verbose=False)
        client = Client(url, auth=("reader", "s3cret"), verbose=False)
        # an empty question fails before the index is touched: quick, and still a real call
        assert client.predict("", api_name="/chat").startswith("Error: ")


# --- the streaming handler, in process -----------------------------------------------------


def test_respond_says_when_it_builds_a_missing_index(tmp_path: Path) -> None:
    """No index yet: the chat says it is building one, then streams a cited answer."""
    from conftest import make_corpus

    from app.ui import Session, respond

    corpus = make_corpus(tmp_path / "corpus", {"tides.txt": (
        "Tide Notes\n\nThe spring tide at Port Elwood reaches 4.2 metres in March.\n\n"
        "The harbour office publishes tide tables every Monday.\n"
    )})
    settings = qa.Settings.from_env(env={}, corpus_dir=corpus, index_dir=tmp_path / "index")
    steps = list(respond("How high does the spring tide reach?", Session(), 5, "extractive",
                         False, settings))
    first_bubble = steps[0][0][-1]["content"]
    assert "index is missing" in first_bubble and "qa-pending" in first_bubble
    assert any("qa-pending" in s[0][-1]["content"] and "spring" in s[0][-1]["content"]
               for s in steps[1:-1])  # streamed deltas before the final answer
    chat, _, session, sources, _, document, _ = steps[-1]
    assert "qa-answer" in chat[-1]["content"] and "[1]" in chat[-1]["content"]
    assert session.turns == [("How high does the spring tide reach?", session.answer.text)]
    assert "<mark>" in sources and "4.2 metres" in sources
    assert 'id="qa-target"' in document

    # a file added to the corpus: the chat says it updates the index first
    (corpus / "more.txt").write_text("The ferry to Elwood leaves at noon.\n", encoding="utf-8")
    steps = list(respond("When does the ferry leave?", session, 5, "extractive", False,
                         settings))
    assert "updating the index" in steps[0][0][-1]["content"]
    assert qa.index_status(settings) == "fresh"
    session = steps[-1][2]
    assert any(p.source == "more.txt" for p in session.answer.passages)

    # an empty question: a hint, no bubble, the conversation kept as it was
    (only,) = list(respond("  ", session, 5, "extractive", False, settings))
    assert "empty" in only[-1] and "qa-hint" in only[-1]
    assert all(isinstance(v, type(only[0])) for v in only[:6])  # all gr.skip()

    # within chosen documents: only those are searched
    steps = list(respond("How high does the spring tide reach?", session, 5, "extractive",
                         False, settings, within=["more.txt"]))
    within = steps[-1][2].answer
    assert all(p.source == "more.txt" for p in within.passages)
