"""The Gradio Blocks: conversations sidebar, chat, sources panel, document view, documents panel.

Handlers call only the public ``qa`` API, ``app.render``, ``app.export`` and the conversation
store. A ``Session`` per browser tab holds the open conversation (its turns, for follow-ups and
for the citations its markers open) and the answer shown in the sources panel; every finished
turn is also saved, so a reload or a restart finds the conversation again.
"""

from __future__ import annotations

import logging
import os
import secrets
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import gradio as gr

import qa
from app import export, render
from app.api import chat_endpoint, readable
from app.conversations import ConversationStore, Summary, Turn, title_for
from app.index_gate import IndexGate

log = logging.getLogger(__name__)

EXAMPLES = [
    "Who was appointed special envoy to manage the war's resolution?",
    "What did Trump promise about ending the Russia-Ukraine war?",
    "What are the scenarios for a ceasefire in Ukraine?",
    "How did the United States and Russia agree to handle the Black Sea?",
    "What additional duty did the August 2025 executive order impose on India?",
]
UPLOAD_TYPES = [".txt", ".md", ".html", ".pdf"]
K_MIN, K_MAX = 1, 20
EMPTY_HINT = "Type a question first — the box is empty."
READY = '<span class="qa-ready" hidden></span>'  # the page has loaded its conversation

CSS = """
.qa-header h1 { margin: 0 0 .2em 0; font-size: 1.5em; }
.qa-header p { margin: .2em 0; }
.qa-note { opacity: .75; font-style: italic; }
button.qa-marker { font: inherit; font-weight: 600; color: var(--color-accent);
  background: none; border: 0; padding: 0 .1em; cursor: pointer;
  text-decoration: underline dotted; }
button.qa-marker:focus-visible, .qa-copy:focus-visible { outline: 2px solid var(--color-accent);
  outline-offset: 1px; border-radius: 3px; }
.qa-marker-label { font-weight: 600; color: var(--color-accent); }
.qa-copy { font-size: .78em; margin-top: .4em; padding: .1em .6em; cursor: pointer;
  border: 1px solid var(--border-color-primary); border-radius: 4px; background: none; }
.qa-cited { font-size: .85em; opacity: .85; margin: .5em 0 0 0; padding-left: 0;
  list-style: none; }
.qa-abstain { border-left: 4px solid #d97706; padding: .3em .7em;
  background: rgba(217, 119, 6, .08); }
.qa-abstain-label { font-weight: 700; color: #b45309; font-size: .85em;
  text-transform: uppercase; letter-spacing: .03em; }
.qa-searched, .qa-notice { font-size: .85em; opacity: .8; margin-top: .4em; }
.qa-busy { border-left: 4px solid #2563eb; padding: .3em .7em;
  background: rgba(37, 99, 235, .08); }
.qa-error { border-left: 4px solid #dc2626; padding: .3em .7em;
  background: rgba(220, 38, 38, .08); }
.qa-hint { color: #b45309; font-size: .9em; padding: .2em .4em; }
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
.qa-score { font-family: monospace; font-size: .85em; opacity: .75; font-weight: 400;
  cursor: help; }
.qa-snippet { font-size: .88em; white-space: pre-wrap; }
.qa-passages { padding-left: 1.2em; }
.qa-doc-text { position: relative; max-height: 460px; overflow-y: auto; white-space: pre-wrap;
  font-size: .88em; border: 1px solid var(--border-color-primary); border-radius: 6px;
  padding: .5em .7em; margin-top: .4em; }
.qa-doc-md { white-space: normal; }
.qa-doc-md h3, .qa-doc-md h4, .qa-doc-md h5, .qa-doc-md h6 { margin: .8em 0 .3em 0; }
.qa-doc-md p { margin: .4em 0; }
mark { background: #fde68a; color: inherit; padding: 0 .1em; }
.qa-summary { white-space: pre-wrap; font-size: .85em; }
.qa-doctable { width: 100%; border-collapse: collapse; font-size: .88em; }
.qa-doctable caption { text-align: left; font-weight: 600; }
.qa-doctable th, .qa-doctable td { text-align: left; padding: .25em .5em;
  border-bottom: 1px solid var(--border-color-primary); vertical-align: top; }
.qa-status-skipped, .qa-status-missing { color: #b45309; }
.qa-results { list-style: none; padding-left: 0; font-size: .9em; }
.qa-result-refused, .qa-result-skipped { color: #b91c1c; }
"""

# Gradio spots a Progress default and hands each call its own tracker (tqdm bars included).
REINDEX_PROGRESS = gr.Progress(track_tqdm=True)
UPLOAD_PROGRESS = gr.Progress(track_tqdm=True)

# The document view's script: scroll the highlighted quote into sight whenever the view
# changes, and (once per page) wire the chat's [n] buttons, the copy buttons and arrow keys
# in the radio lists. A marker click reaches Python as this component's "click" event.
DOC_JS = """
window.__qaTrigger = trigger;
watch('value', () => {
  const box = element.querySelector('.qa-doc-text');
  const mark = element.querySelector('#qa-target');
  if (!box || !mark) return;
  box.scrollTop = Math.max(0, mark.offsetTop - box.clientHeight / 3);
  const r = element.getBoundingClientRect();
  if (r.bottom < 0 || r.top > window.innerHeight) element.scrollIntoView({block: 'nearest'});
});
if (!window.__qaWired) {
  window.__qaWired = true;
  // The chat's sanitiser drops aria-* attributes: name the buttons here.
  const label = () => {
    for (const b of document.querySelectorAll('#qa-chat button.qa-marker[name], '
                                              + '#qa-chat button.qa-copy[name]')) {
      if (b.getAttribute('aria-label') !== b.name) b.setAttribute('aria-label', b.name);
    }
  };
  new MutationObserver(label).observe(document.body, {subtree: true, childList: true});
  label();
  document.addEventListener('click', (ev) => {
    const marker = ev.target.closest && ev.target.closest('button.qa-marker');
    if (marker && marker.closest('#qa-chat')) {
      ev.preventDefault();
      ev.stopPropagation();
      const [turn, n] = (marker.value || '').split(':').map(Number);
      window.__qaTrigger('click', {turn: turn, n: n, nonce: Date.now()});
      return;
    }
    const copy = ev.target.closest && ev.target.closest('button.qa-copy');
    if (copy && copy.closest('#qa-chat')) {
      ev.preventDefault();
      ev.stopPropagation();
      const done = (text) => { copy.textContent = text;
                               setTimeout(() => { copy.textContent = 'Copy'; }, 1500); };
      navigator.clipboard.writeText(copy.value).then(
        () => done('Copied'), () => done('Copy failed'));
    }
  }, true);
  const KEYS = ['ArrowDown', 'ArrowUp', 'ArrowLeft', 'ArrowRight', 'Home', 'End'];
  document.addEventListener('keydown', (ev) => {
    if (!KEYS.includes(ev.key) || !ev.target.closest) return;
    const group = ev.target.closest('#qa-choice, #qa-convs');
    if (!group) return;
    const inputs = [...group.querySelectorAll('input[type=radio]')];
    if (!inputs.length) return;
    let i = inputs.indexOf(ev.target);
    if (i < 0) i = Math.max(0, inputs.findIndex((x) => x.checked));
    const step = (ev.key === 'ArrowDown' || ev.key === 'ArrowRight') ? 1 : -1;
    const next = ev.key === 'Home' ? 0 : ev.key === 'End' ? inputs.length - 1
      : (i + step + inputs.length) % inputs.length;
    ev.preventDefault();
    inputs[next].focus();
    inputs[next].click();
  }, true);
}
"""


BROWSER_ID_JS = """
(id) => (typeof id === 'string' && /^[0-9a-f]{32}$/.test(id)) ? id
  : Array.from(crypto.getRandomValues(new Uint8Array(16)),
               (b) => b.toString(16).padStart(2, '0')).join('')
"""


@dataclass
class Session:
    """One tab's open conversation and what the sources panel shows."""

    conversation: str | None = None  # id in the store, once the first answer is saved
    title: str = ""
    history: list[Turn] = field(default_factory=list)  # answered turns, oldest first
    messages: list[dict[str, str]] = field(default_factory=list)  # chat bubbles
    answer: qa.Answer | None = None  # shown in the sources panel
    places: list[render.Place] = field(default_factory=list)

    @property
    def turns(self) -> list[tuple[str, str]]:
        """(question, answer text) pairs for follow-ups."""
        return [(t.question, t.answer.text) for t in self.history]


def messages_for(history: list[Turn]) -> list[dict[str, str]]:
    out: list[dict[str, str]] = []
    for i, t in enumerate(history):
        out.append({"role": "user", "content": render.user_message(t.question)})
        out.append({"role": "assistant", "content": render.answer_message(t.answer, turn=i)})
    return out


def session_for(summary: Summary | None, history: list[Turn]) -> Session:
    answer = history[-1].answer if history else None
    return Session(
        conversation=summary.id if summary else None,
        title=summary.title if summary else "",
        history=history,
        messages=messages_for(history),
        answer=answer,
        places=render.places(answer) if answer else [],
    )


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


def _choice(session: Session, index: int | None = 0) -> Any:
    places = session.places
    answer = session.answer
    label = (
        "Open a citation in its document (arrow keys move)"
        if answer is None or answer.citations
        else "Open a searched passage in its document (arrow keys move)"
    )
    value = places[index].label if places and index is not None and index < len(places) else None
    return gr.Radio(choices=[p.label for p in places], value=value, label=label)


def panels(session: Session, show_scores: bool, settings: qa.Settings,
           index: int = 0) -> tuple[Any, Any, Any]:
    """Sources panel, citation chooser and document view for the session's shown answer."""
    answer = session.answer
    if answer is None:
        return (render.sources_panel(None, {}), _choice(session, None),
                render.document_view(None, None))
    sources = render.sources_panel(answer, _texts(answer, settings), show_scores=show_scores)
    place = session.places[index] if index < len(session.places) else None
    return sources, _choice(session, index), _document(place, settings)


_STATUS_NOTES = {
    "missing": "The index is missing; building it from the corpus first (this can take a minute)…",
    "stale": "The corpus changed; updating the index first…",
}
_PREPARING = "Opening the index and loading the model…"
_REBUILDING = "The index was damaged; rebuilding it from the corpus…"


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
    within: list[str] | None = None,
    *,
    gate: IndexGate | None = None,
) -> Iterator[tuple[Any, ...]]:
    """Stream one answer into the chat, then fill the sources panel and the document view.

    Yields (chat, question box, session, sources, choice, document, hint). An empty question
    yields only a hint: no bubble enters the transcript. The index is opened by ``gate`` (in
    the background); when building, updating or repairing it outlasts the gate's bound, the
    reply says so and the question goes back into the box, to be sent again in a moment.
    """
    message = message or ""
    keep = (gr.skip(), gr.skip(), gr.skip())
    if not message.strip():
        yield (gr.skip(), gr.skip(), gr.skip(), *keep, render.hint(EMPTY_HINT))
        return
    gate = gate or IndexGate.for_settings(settings)
    messages = [*session.messages, {"role": "user", "content": render.user_message(message)}]
    note = _status_note(settings)
    pending = {"role": "assistant", "content": render.pending_message("", note)}
    yield ([*messages, pending], "", session, *keep, "")

    def busy() -> tuple[Any, ...]:
        reply = {"role": "assistant", "content": render.busy_message(gate.busy_text())}
        done = replace(session, messages=[*messages, reply])
        return (done.messages, message, done, *keep, gr.skip())

    def opened(since: float) -> Iterator[tuple[Any, ...]]:
        """Progress in the pending bubble while the gate works; stops when it is done or the
        request's deadline has passed."""
        while not gate.ready(since, tick=1.0):
            if gate.expired(since):
                return
            if gate.elapsed() >= 2:
                what = _REBUILDING if gate.rebuilding else _STATUS_NOTES.get(gate.status,
                                                                            _PREPARING)
                progress = f"{what} ({gate.elapsed():.0f} s)"
                bubble = {"role": "assistant", "content": render.pending_message("", progress)}
                yield ([*messages, bubble], gr.skip(), gr.skip(), *keep, gr.skip())

    text = ""
    answer: qa.Answer | None = None
    for attempt in (1, 2):
        since = gate.start(repair=attempt == 2)
        yield from opened(since)
        if gate.busy:
            yield busy()
            return
        try:
            stream = qa.ask_stream(
                message, session.turns, backend=backend or None, k=int(k), settings=settings,
                sources=list(within) if within else None,
            )
            for event in stream:
                if event.answer is not None:
                    answer = event.answer
                    break
                text += event.delta
                pending = {"role": "assistant", "content": render.pending_message(text)}
                yield ([*messages, pending], gr.skip(), gr.skip(), *keep, gr.skip())
        except qa.IndexBuildError as exc:
            if attempt == 1 and not text:  # damage found while answering: repair, ask again
                log.warning("the index failed while answering (%s); repairing it", exc)
                continue
            failed = {"role": "assistant", "content": render.error_message(readable(exc))}
            done = replace(session, messages=[*messages, failed])
            yield (done.messages, gr.skip(), done, *keep, gr.skip())
            return
        except Exception as exc:
            failed = {"role": "assistant", "content": render.error_message(readable(exc))}
            done = replace(session, messages=[*messages, failed])
            yield (done.messages, gr.skip(), done, *keep, gr.skip())
            return
        break
    if answer is None:
        failed = {"role": "assistant", "content": render.error_message("No answer came back.")}
        done = replace(session, messages=[*messages, failed])
        yield (done.messages, gr.skip(), done, *keep, gr.skip())
        return
    turn = len(session.history)
    final = {"role": "assistant", "content": render.answer_message(answer, turn=turn)}
    done = replace(
        session,
        history=[*session.history, Turn(question=message, answer=answer)],
        messages=[*messages, final],
        answer=answer,
        places=render.places(answer),
    )
    yield (done.messages, gr.skip(), done, *panels(done, show_scores, settings), gr.skip())


class Exports:
    """Markdown and JSON files of conversations, for the download buttons."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="outlook-qa-export-"))

    def files(self, session: Session, settings: qa.Settings) -> tuple[Any, Any]:
        if not session.history:
            return gr.DownloadButton(value=None, interactive=False), gr.DownloadButton(
                value=None, interactive=False
            )
        title = session.title or title_for(session.history[0].question)
        try:
            dates = {d.name: d.date for d in qa.documents(settings)}
        except (qa.QAError, OSError):
            dates = {}
        folder = self.root / uuid.uuid4().hex
        folder.mkdir()
        stem = export.file_stem(title)
        md = folder / f"{stem}.md"
        md.write_text(export.to_markdown(title, session.history, dates), encoding="utf-8")
        js = folder / f"{stem}.json"
        js.write_text(export.to_json(title, session.conversation, session.history),
                      encoding="utf-8")
        return (gr.DownloadButton(value=str(md), interactive=True),
                gr.DownloadButton(value=str(js), interactive=True))


def conversation_list(store: ConversationStore, owner: str, current: str | None) -> Any:
    summaries = store.summaries(owner) if owner else []
    choices = [
        (render.shown(f"{s.title} · {render.plural(s.turns, 'question')}"), s.id)
        for s in summaries
    ]
    value = current if any(s.id == current for s in summaries) else None
    return gr.Radio(choices=choices, value=value)


def document_choices(settings: qa.Settings) -> list[qa.DocumentInfo]:
    try:
        return qa.documents(settings)
    except (qa.QAError, OSError) as exc:
        log.warning("cannot list the documents: %s", exc)
        return []


def browser_secret(settings: qa.Settings) -> str:
    """A per-installation key for the browser-stored id (stable across restarts, so a
    browser finds its conversations again)."""
    path = Path(settings.index_dir) / "browser-state.key"
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
    tmp.write_text(key, encoding="utf-8")
    tmp.chmod(0o600)
    try:  # a concurrent first start may have won: keep its key
        os.link(tmp, path)
    except OSError:
        pass
    tmp.unlink(missing_ok=True)
    return path.read_text(encoding="utf-8").strip()


def build(settings: qa.Settings, gate: IndexGate | None = None) -> gr.Blocks:
    """The whole UI; ``settings`` is read once at start and passed to every qa call, and
    ``gate`` opens the index for the chat and ``/chat`` (in the background, waits bounded)."""
    gate = gate or IndexGate.for_settings(settings)
    store = ConversationStore.for_settings(settings)
    exports = Exports()
    k_default = min(max(settings.top_k, K_MIN), K_MAX)

    def owner_of(request: gr.Request | None, browser: str | None) -> str:
        """Whose conversations these are: the logged-in user, else this browser's id."""
        user = getattr(request, "username", None) if request is not None else None
        if settings.auth:
            return f"user:{user}" if user else ""
        return f"browser:{browser}" if browser else ""

    def login_needed(request: gr.Request | None) -> str | None:
        if settings.auth and not getattr(request, "username", None):
            return "Log in to change the corpus."
        return None

    with gr.Blocks(title="outlook-qa") as demo:
        session = gr.State(Session())
        browser = gr.BrowserState(
            "", storage_key="outlook-qa-browser", secret=browser_secret(settings)
        )
        header = gr.HTML(render.header(None), elem_id="qa-header")
        with gr.Accordion("Documents — add, replace, delete", open=False,
                          elem_id="qa-documents"):
            with gr.Row(equal_height=False):
                with gr.Column(scale=2):
                    upload = gr.File(
                        label="Add or replace documents (.txt .md .html .pdf; drop files "
                        "here or click to choose)",
                        file_count="multiple", file_types=UPLOAD_TYPES, elem_id="qa-upload",
                        height=140,
                    )
                    upload_out = gr.HTML("", elem_id="qa-upload-results")
                with gr.Column(scale=3):
                    doclist = gr.HTML(render.documents_table([]), elem_id="qa-doclist")
                    with gr.Row():
                        to_delete = gr.Dropdown(
                            [], label="Document to delete", elem_id="qa-delete-choice",
                            scale=3,
                        )
                        delete_btn = gr.Button("Delete document", variant="stop", scale=1,
                                               elem_id="qa-delete")
                    with gr.Row():
                        reindex_btn = gr.Button("Re-index corpus", size="sm", scale=0,
                                                min_width=160)
                        reindex_out = gr.HTML("", elem_id="qa-reindex")
        with gr.Row(equal_height=False):
            with gr.Column(scale=1, min_width=220, elem_id="qa-sidebar"):
                new_btn = gr.Button("New conversation", elem_id="qa-new", size="sm")
                convs = gr.Radio([], label="Conversations (arrow keys move)",
                                 elem_id="qa-convs")
                conv_title = gr.Textbox(label="Title of this conversation", max_lines=1,
                                        elem_id="qa-conv-title", max_length=200)
                with gr.Row():
                    rename_btn = gr.Button("Rename", size="sm", elem_id="qa-rename")
                    delete_conv = gr.Button("Delete", size="sm", variant="stop",
                                            elem_id="qa-conv-delete")
                export_md = gr.DownloadButton("Export Markdown", size="sm",
                                              elem_id="qa-export-md", interactive=False)
                export_json = gr.DownloadButton("Export JSON", size="sm",
                                                elem_id="qa-export-json", interactive=False)
            with gr.Column(scale=3):
                chatbot = gr.Chatbot(
                    elem_id="qa-chat", height=520, buttons=[],
                    placeholder="Ask about the documents; every answer cites its sources. "
                    "Press a [n] marker to see that quote in its document.",
                    examples=[{"text": q} for q in EXAMPLES],
                    feedback_options=None, line_breaks=False, latex_delimiters=[],
                )
                with gr.Row():
                    box = gr.Textbox(
                        placeholder="Ask a question about the corpus (up to "
                        f"{settings.max_question_chars:,} characters)…",
                        show_label=False, elem_id="qa-question", scale=5, autofocus=True,
                        max_length=settings.max_question_chars,
                    )
                    send = gr.Button("Ask", variant="primary", scale=0, min_width=90,
                                     elem_id="qa-send")
                hint = gr.HTML("", elem_id="qa-hint")
                within = gr.Dropdown(
                    [], multiselect=True, label="Ask within documents",
                    info="Leave empty to search every document.", elem_id="qa-within",
                )
                with gr.Accordion("Settings", open=False):
                    k = gr.Slider(K_MIN, K_MAX, value=k_default, step=1,
                                  label=f"Passages to search (k, {K_MIN}–{K_MAX})")
                    names = backends(settings)
                    backend = gr.Dropdown(
                        names, label="Answer backend",
                        value=settings.answer_backend if settings.answer_backend in names
                        else "extractive",
                    )
                    show_scores = gr.Checkbox(False, label="Show relevance scores")
            with gr.Column(scale=2):
                gr.Markdown("### Sources of the answer")
                sources = gr.HTML(render.sources_panel(None, {}), elem_id="qa-sources")
                choice = gr.Radio([], label="Open a citation in its document (arrow keys move)",
                                  type="index", elem_id="qa-choice")
                document = gr.HTML(render.document_view(None, None), elem_id="qa-doc",
                                   js_on_load=DOC_JS)

        conv_outputs = [convs, conv_title, export_md, export_json]

        def conversation_views(state: Session, owner: str) -> tuple[Any, ...]:
            return (conversation_list(store, owner, state.conversation),
                    render.shown(state.title),
                    *exports.files(state, settings))

        def ask(message: str, state: Session, k_: float, backend_: str, scores: bool,
                within_: list[str] | None, browser_: str,
                request: gr.Request) -> Iterator[tuple[Any, ...]]:
            owner = owner_of(request, browser_)
            skip4 = (gr.skip(),) * 4
            for step in respond(message, state, k_, backend_, scores, settings, within_,
                                gate=gate):
                done = step[2]
                if not isinstance(done, Session) or len(done.history) == len(state.history):
                    yield (*step, *skip4)
                    continue
                if owner:  # save the turn: a reload or a restart finds it again
                    turn = done.history[-1]
                    try:
                        if done.conversation is None:
                            title = title_for(turn.question)
                            done = replace(done, conversation=store.create(owner, title),
                                           title=title)
                        assert done.conversation is not None
                        store.add_turn(owner, done.conversation, turn.question, turn.answer)
                    except Exception:  # keep answering even when the store fails
                        log.exception("cannot save the conversation")
                yield (*step[:2], done, *step[3:], *conversation_views(done, owner))

        def rescore(state: Session, scores: bool) -> str:
            if state.answer is None:
                return render.sources_panel(None, {})
            return render.sources_panel(state.answer, _texts(state.answer, settings),
                                        show_scores=scores)

        def open_place(index: int | None, state: Session) -> str:
            if index is None or not 0 <= index < len(state.places):
                return render.document_view(None, None)
            return _document(state.places[index], settings)

        def open_marker(state: Session, scores: bool, evt: gr.EventData) -> tuple[Any, ...]:
            """A [n] button in the chat: show that answer's sources and open citation n."""
            data = evt._data if isinstance(evt._data, dict) else {}
            try:
                turn, n = int(data.get("turn", -1)), int(data.get("n", 0))
            except (TypeError, ValueError):
                return (gr.skip(),) * 4
            if turn < 0:
                turn = len(state.history) - 1
            if not (0 <= turn < len(state.history)):
                return (gr.skip(),) * 4
            answer = state.history[turn].answer
            if not 1 <= n <= len(answer.citations):
                return (gr.skip(),) * 4
            shown = replace(state, answer=answer, places=render.places(answer))
            return (shown, *panels(shown, scores, settings, index=n - 1))

        def load_header() -> str:
            if not gate.ready(gate.start()):  # the index is still being built or repaired
                return render.header(None, gate.busy_text())
            try:
                return render.header(qa.corpus_info(settings))
            except Exception as exc:
                return render.header(None, readable(exc))

        def document_views(selected: list[str] | None = None) -> tuple[Any, ...]:
            docs = document_choices(settings)
            names = [d.name for d in docs]
            indexed = [(render.shown(f"{d.title} ({d.name})"), d.name)
                       for d in docs if d.chunks > 0]
            keep = [s for s in (selected or []) if s in {n for _, n in indexed}]
            return (
                render.documents_table(docs),
                gr.Dropdown(choices=indexed, value=keep),
                gr.Dropdown(choices=[(render.shown(n), n) for n in names], value=None),
            )

        doc_outputs = [doclist, within, to_delete]

        def do_reindex(selected: list[str] | None,
                       progress: gr.Progress = REINDEX_PROGRESS) -> tuple[Any, ...]:
            progress(0, desc="Re-indexing the corpus…")
            try:
                report = qa.reindex(settings, progress=True)
            except Exception as exc:
                return (gr.skip(), render.error_message(readable(exc)), *document_views(selected))
            return (load_header(), render.reindex_summary(report.summary()),
                    *document_views(selected))

        def add_files(files: list[str] | None, selected: list[str] | None,
                      request: gr.Request,
                      progress: gr.Progress = UPLOAD_PROGRESS) -> tuple[Any, ...]:
            """Each uploaded file into the corpus, one result line each."""
            paths = [Path(str(f)) for f in (files or [])]
            refused = login_needed(request)
            results: list[render.UploadResult] = []
            for i, path in enumerate(paths):
                name = path.name
                if refused:
                    results.append(render.UploadResult(name=name, status="refused",
                                                       reason=refused))
                    continue
                progress((i, len(paths)), desc=f"Indexing {name} ({i + 1} of {len(paths)})…")
                try:
                    change = qa.add_document(name, path.read_bytes(), settings=settings,
                                             progress=True)
                    results.append(render.UploadResult(
                        name=name, status=change.status, reason=change.reason,
                        chunks=change.chunks,
                    ))
                except qa.QAError as exc:
                    results.append(render.UploadResult(name=name, status="refused",
                                                       reason=str(exc)))
                except Exception as exc:
                    results.append(render.UploadResult(name=name, status="refused",
                                                       reason=readable(exc)))
            if paths:
                progress((len(paths), len(paths)), desc="Done")
            return (render.upload_results(results, uuid.uuid4().hex), None, load_header(),
                    *document_views(selected))

        def delete_document(name: str | None, selected: list[str] | None,
                            request: gr.Request) -> tuple[Any, ...]:
            refused = login_needed(request)
            if not name:
                return (render.hint("Choose a document to delete first."), gr.skip(),
                        *document_views(selected))
            if refused:
                result = render.UploadResult(name=name, status="refused", reason=refused)
            else:
                try:
                    qa.remove_document(name, settings=settings)
                    result = render.UploadResult(name=name, status="removed")
                except Exception as exc:
                    result = render.UploadResult(name=name, status="refused",
                                                 reason=readable(exc))
            return (render.upload_results([result], uuid.uuid4().hex), load_header(),
                    *document_views(selected))

        def start(browser_: str | None, scores: bool, request: gr.Request) -> tuple[Any, ...]:
            """Page load: this browser's id, its latest conversation, the corpus views."""
            valid = bool(browser_) and len(browser_ or "") == 32
            browser_id = browser_ if valid and browser_ else uuid.uuid4().hex
            owner = owner_of(request, browser_id)
            summaries = store.summaries(owner) if owner else []
            latest = summaries[0] if summaries else None
            state = session_for(latest, store.turns(owner, latest.id) if latest else [])
            return (browser_id, state, state.messages, *panels(state, scores, settings),
                    READY, *conversation_views(state, owner), *document_views())

        def open_conversation(conversation: str | None, browser_: str, scores: bool,
                              request: gr.Request) -> tuple[Any, ...]:
            owner = owner_of(request, browser_)
            summary = store.get(owner, conversation) if conversation and owner else None
            state = session_for(summary, store.turns(owner, summary.id) if summary else [])
            return (state, state.messages, *panels(state, scores, settings), "",
                    *conversation_views(state, owner))

        def new_conversation(browser_: str, request: gr.Request) -> tuple[Any, ...]:
            state = Session()
            return (state, [], *panels(state, False, settings), "",
                    *conversation_views(state, owner_of(request, browser_)))

        def rename(state: Session, title: str, browser_: str,
                   request: gr.Request) -> tuple[Any, ...]:
            owner = owner_of(request, browser_)
            if state.conversation and owner and store.rename(owner, state.conversation, title):
                state = replace(state, title=" ".join(render.shown(title).split())[:200])
            return (state, *conversation_views(state, owner))

        def delete_conversation(state: Session, browser_: str, scores: bool,
                                request: gr.Request) -> tuple[Any, ...]:
            owner = owner_of(request, browser_)
            if state.conversation and owner:
                store.delete(owner, state.conversation)
            summaries = store.summaries(owner) if owner else []
            latest = summaries[0] if summaries else None
            state = session_for(latest, store.turns(owner, latest.id) if latest else [])
            return (state, state.messages, *panels(state, scores, settings), "",
                    *conversation_views(state, owner))

        private: dict[str, Any] = {"api_visibility": "private"}
        corpus: dict[str, Any] = {"concurrency_limit": 1, "concurrency_id": "corpus", **private}
        chat_outputs = [chatbot, box, session, sources, choice, document, hint, *conv_outputs]
        inputs = [box, session, k, backend, show_scores, within, browser]
        box.submit(ask, inputs, chat_outputs, **private)
        send.click(ask, inputs, chat_outputs, **private)

        def pick_example(evt: gr.SelectData) -> str:
            return str(evt.value.get("text", "")) if isinstance(evt.value, dict) else ""

        chatbot.example_select(pick_example, None, box, queue=False, **private).then(
            ask, inputs, chat_outputs, **private
        )
        view_outputs = [session, chatbot, sources, choice, document, hint, *conv_outputs]
        new_btn.click(new_conversation, [browser], view_outputs, queue=False, **private)
        chatbot.clear(new_conversation, [browser], view_outputs, queue=False, **private)
        convs.input(open_conversation, [convs, browser, show_scores], view_outputs, **private)
        rename_btn.click(rename, [session, conv_title, browser], [session, *conv_outputs],
                         **private)
        conv_title.submit(rename, [session, conv_title, browser], [session, *conv_outputs],
                          **private)
        delete_conv.click(delete_conversation, [session, browser, show_scores], view_outputs,
                          **private)
        show_scores.change(rescore, [session, show_scores], sources, **private)
        choice.input(open_place, [choice, session], document, **private)
        document.click(open_marker, [session, show_scores],
                       [session, sources, choice, document], **private)
        upload.upload(add_files, [upload, within], [upload_out, upload, header, *doc_outputs],
                      **corpus)
        delete_btn.click(delete_document, [to_delete, within],
                         [upload_out, header, *doc_outputs], **corpus)
        reindex_btn.click(do_reindex, [within], [header, reindex_out, *doc_outputs], **corpus)
        # The browser's id is made in the browser, at once, so no question can be sent (and
        # saved) before it exists; ``start`` then reads this browser's conversations.
        demo.load(None, [browser], [browser], js=BROWSER_ID_JS, queue=False, **private).then(
            start, [browser, show_scores],
            [browser, session, chatbot, sources, choice, document, hint, *conv_outputs,
             *doc_outputs],
            **private,
        ).then(load_header, None, header, **private)

        gr.api(chat_endpoint(settings, gate), api_name="chat")
    demo.queue(default_concurrency_limit=settings.queue_concurrency)
    return demo
