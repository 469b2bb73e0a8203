"""The Gradio Blocks: chat, sources panel, document view, corpus header and settings.

Handlers call only the public ``qa`` API and ``app.render``; a ``Session`` per browser tab keeps
the conversation (for follow-ups) and the latest answer (for the sources panel).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import gradio as gr

import qa
from app import render
from app.api import chat_endpoint, readable

log = logging.getLogger(__name__)

EXAMPLES = [
    "Who was appointed special envoy to manage the war's resolution?",
    "What did Trump promise about ending the Russia-Ukraine war?",
    "What are the scenarios for a ceasefire in Ukraine?",
    "How did the United States and Russia agree to handle the Black Sea?",
    "What additional duty did the August 2025 executive order impose on India?",
]

CSS = """
.qa-header h1 { margin: 0 0 .2em 0; font-size: 1.5em; }
.qa-header p { margin: .2em 0; }
.qa-note { opacity: .75; font-style: italic; }
.qa-answer .qa-marker, .qa-card .qa-marker {
  font-weight: 600; color: var(--color-accent); cursor: help; }
.qa-cited { font-size: .85em; opacity: .8; margin: .5em 0 0 0; padding-left: 0;
  list-style: none; }
.qa-abstain { border-left: 4px solid #d97706; padding: .3em .7em;
  background: rgba(217, 119, 6, .08); }
.qa-abstain-label { font-weight: 700; color: #b45309; font-size: .85em;
  text-transform: uppercase; letter-spacing: .03em; }
.qa-searched, .qa-notice { font-size: .85em; opacity: .8; margin-top: .4em; }
.qa-error { border-left: 4px solid #dc2626; padding: .3em .7em;
  background: rgba(220, 38, 38, .08); }
.qa-pending { opacity: .85; }
.qa-cursor { animation: qa-blink 1s step-start infinite; }
@keyframes qa-blink { 50% { opacity: 0; } }
.qa-sources, .qa-doc { font-size: .92em; }
.qa-card { border: 1px solid var(--border-color-primary); border-radius: 6px;
  padding: .5em .7em; margin-bottom: .6em; }
.qa-title { font-weight: 600; }
.qa-section { font-size: .85em; opacity: .8; }
.qa-context { margin-top: .3em; white-space: pre-wrap; }
.qa-where { font-size: .78em; opacity: .6; margin-top: .2em; }
.qa-score { font-family: monospace; font-size: .85em; opacity: .75; font-weight: 400; }
.qa-snippet { font-size: .88em; white-space: pre-wrap; }
.qa-passages { padding-left: 1.2em; }
.qa-doc-text { position: relative; max-height: 460px; overflow-y: auto; white-space: pre-wrap;
  font-size: .88em; border: 1px solid var(--border-color-primary); border-radius: 6px;
  padding: .5em .7em; margin-top: .4em; }
mark { background: #fde68a; color: inherit; padding: 0 .1em; }
.qa-summary { white-space: pre-wrap; font-size: .85em; }
"""

# Gradio spots a Progress default and hands each call its own tracker (tqdm bars included).
REINDEX_PROGRESS = gr.Progress(track_tqdm=True)

# Scroll the document view (not the page) so the highlighted quote is in sight.
SCROLL_JS = """
watch('value', () => {
  const box = element.querySelector('.qa-doc-text');
  const mark = element.querySelector('#qa-target');
  if (box && mark) box.scrollTop = Math.max(0, mark.offsetTop - box.clientHeight / 3);
});
"""


@dataclass
class Session:
    """One tab's conversation: chat bubbles, (question, answer) turns, the latest answer."""

    messages: list[dict[str, str]] = field(default_factory=list)
    turns: list[tuple[str, str]] = field(default_factory=list)
    answer: qa.Answer | None = None
    places: list[render.Place] = field(default_factory=list)


def backends(settings: qa.Settings) -> list[str]:
    """Extractive always; an LLM backend only when settings name one (errors still surface)."""
    names = ["extractive"]
    if settings.llm_model or settings.answer_backend == "ollama":
        names.append("ollama")
    if settings.openai_base_url or settings.openai_api_key or settings.answer_backend == "openai":
        names.append("openai")
    return names


def _texts(answer: qa.Answer, settings: qa.Settings) -> dict[str, str]:
    """The source texts the answer's citations point into (each file read once)."""
    texts: dict[str, str] = {}
    for c in answer.citations:
        if c.source not in texts:
            try:
                texts[c.source] = qa.source_text(c.source, settings)
            except (qa.QAError, OSError) as exc:
                log.warning("cannot read %s: %s", c.source, exc)
    return texts


def _document(place: render.Place | None, settings: qa.Settings) -> str:
    if place is None:
        return render.document_view(None, None)
    try:
        text = qa.source_text(place.source, settings)
    except (qa.QAError, OSError) as exc:
        return render.error_message(f"Cannot open {place.source}: {exc}")
    return render.document_view(place, text)


_STATUS_NOTES = {
    "missing": "The index is missing; building it from the corpus first (this can take a minute)…",
    "stale": "The corpus changed; updating the index first…",
}


def _status_note(settings: qa.Settings) -> str:
    try:
        status = qa.index_status(settings)
    except qa.QAError:
        status = "fresh"  # the question itself will report the problem
    return _STATUS_NOTES.get(status, "Searching the sources…")


def respond(
    message: str,
    session: Session,
    k: float,
    backend: str,
    show_scores: bool,
    settings: qa.Settings,
) -> Iterator[tuple[Any, ...]]:
    """Stream one answer into the chat, then fill the sources panel and the document view."""
    message = message or ""
    messages = [
        *session.messages,
        {"role": "user", "content": render.user_message(message)},
    ]
    note = _status_note(settings)
    pending = {"role": "assistant", "content": render.pending_message("", note)}
    keep = (gr.skip(), gr.skip(), gr.skip())
    yield ([*messages, pending], "", session, *keep)
    text = ""
    answer: qa.Answer | None = None
    try:
        stream = qa.ask_stream(
            message, session.turns, backend=backend or None, k=int(k), settings=settings
        )
        for event in stream:
            if event.answer is not None:
                answer = event.answer
                break
            text += event.delta
            pending = {"role": "assistant", "content": render.pending_message(text)}
            yield ([*messages, pending], gr.skip(), gr.skip(), *keep)
    except Exception as exc:
        failed = {"role": "assistant", "content": render.error_message(readable(exc))}
        done = replace(session, messages=[*messages, failed])
        yield (done.messages, gr.skip(), done, *keep)
        return
    if answer is None:
        failed = {"role": "assistant", "content": render.error_message("No answer came back.")}
        done = replace(session, messages=[*messages, failed])
        yield (done.messages, gr.skip(), done, *keep)
        return
    places = render.places(answer)
    final = {"role": "assistant", "content": render.answer_message(answer)}
    done = Session(
        messages=[*messages, final],
        turns=[*session.turns, (message, answer.text)],
        answer=answer,
        places=places,
    )
    sources = render.sources_panel(
        answer, _texts(answer, settings), show_scores=show_scores
    )
    choice = gr.Radio(
        choices=[p.label for p in places], value=places[0].label if places else None,
        label="Open a citation in its document" if answer.citations
        else "Open a searched passage in its document",
    )
    yield (done.messages, gr.skip(), done, sources, choice, _document(
        places[0] if places else None, settings
    ))


def build(settings: qa.Settings) -> gr.Blocks:
    """The whole UI; ``settings`` is read once at start and passed to every qa call."""
    with gr.Blocks(title="outlook-qa") as demo:
        session = gr.State(Session())
        header = gr.HTML(render.header(None), elem_id="qa-header")
        with gr.Row():
            reindex_btn = gr.Button("Re-index corpus", size="sm", scale=0, min_width=160)
            reindex_out = gr.HTML("", elem_id="qa-reindex")
        with gr.Row(equal_height=False):
            with gr.Column(scale=3):
                chatbot = gr.Chatbot(
                    elem_id="qa-chat", height=520, buttons=["copy", "copy_all"],
                    placeholder="Ask about the documents below; every answer cites its sources.",
                    examples=[{"text": q} for q in EXAMPLES],
                    feedback_options=None, line_breaks=False, latex_delimiters=[],
                )
                with gr.Row():
                    box = gr.Textbox(
                        placeholder="Ask a question about the corpus…", show_label=False,
                        elem_id="qa-question", scale=5, autofocus=True,
                        max_length=settings.max_question_chars * 2,
                    )
                    send = gr.Button("Ask", variant="primary", scale=0, min_width=90,
                                     elem_id="qa-send")
                    clear = gr.Button("New conversation", scale=0, min_width=120)
                with gr.Accordion("Settings", open=False):
                    k = gr.Slider(1, 20, value=settings.top_k, step=1,
                                  label="Passages to search (k)")
                    names = backends(settings)
                    backend = gr.Dropdown(
                        names, label="Answer backend",
                        value=settings.answer_backend if settings.answer_backend in names
                        else "extractive",
                    )
                    show_scores = gr.Checkbox(False, label="Show retrieval scores")
            with gr.Column(scale=2):
                gr.Markdown("### Sources of the latest answer")
                sources = gr.HTML(render.sources_panel(None, {}), elem_id="qa-sources")
                choice = gr.Radio([], label="Open a citation in its document",
                                  type="index", elem_id="qa-choice")
                document = gr.HTML(render.document_view(None, None), elem_id="qa-doc",
                                   js_on_load=SCROLL_JS)

        def ask(message: str, state: Session, k_: float, backend_: str,
                scores: bool) -> Iterator[tuple[Any, ...]]:
            yield from respond(message, state, k_, backend_, scores, settings)

        def rescore(state: Session, scores: bool) -> str:
            if state.answer is None:
                return render.sources_panel(None, {})
            texts = _texts(state.answer, settings)
            return render.sources_panel(state.answer, texts, show_scores=scores)

        def open_place(index: int | None, state: Session) -> str:
            if index is None or not 0 <= index < len(state.places):
                return render.document_view(None, None)
            return _document(state.places[index], settings)

        def load_header() -> str:
            try:
                return render.header(qa.corpus_info(settings))
            except Exception as exc:
                return render.header(None, readable(exc))

        def do_reindex(progress: gr.Progress = REINDEX_PROGRESS) -> tuple[str, str]:
            progress(0, desc="Re-indexing the corpus…")
            try:
                report = qa.reindex(settings, progress=True)
            except Exception as exc:
                return gr.skip(), render.error_message(readable(exc))
            return load_header(), render.reindex_summary(report.summary())

        def new_conversation() -> tuple[Any, ...]:
            return ([], Session(), render.sources_panel(None, {}),
                    gr.Radio(choices=[], value=None), render.document_view(None, None))

        outputs = [chatbot, box, session, sources, choice, document]
        inputs = [box, session, k, backend, show_scores]
        private: dict[str, Any] = {"api_visibility": "private"}
        box.submit(ask, inputs, outputs, **private)
        send.click(ask, inputs, outputs, **private)
        def pick_example(evt: gr.SelectData) -> str:
            return str(evt.value.get("text", "")) if isinstance(evt.value, dict) else ""

        chatbot.example_select(pick_example, None, box, queue=False, **private).then(
            ask, inputs, outputs, **private
        )
        clear.click(new_conversation, None, [chatbot, session, sources, choice, document],
                    queue=False, **private)
        chatbot.clear(new_conversation, None, [chatbot, session, sources, choice, document],
                      queue=False, **private)
        show_scores.change(rescore, [session, show_scores], sources, **private)
        choice.input(open_place, [choice, session], document, **private)
        reindex_btn.click(do_reindex, None, [header, reindex_out], **private)
        demo.load(load_header, None, header, **private)

        gr.api(chat_endpoint(settings), api_name="chat")
    demo.queue(default_concurrency_limit=settings.queue_concurrency)
    return demo
