"""The ``/chat`` API endpoint: one question in, answer text with its sources out.

No ``from __future__ import annotations`` here: gradio reads the endpoint's type hints as real
types to describe it (``str -> str``) to ``gradio_client``.
"""

import logging
from collections.abc import Callable

import qa
from app import render
from app.index_gate import IndexGate

log = logging.getLogger(__name__)


def readable(exc: Exception) -> str:
    """A message a user can act on; unexpected errors are logged with their trace."""
    if isinstance(exc, qa.QAError):
        return str(exc)
    log.exception("unexpected error while answering")
    return f"Something went wrong ({type(exc).__name__}: {exc}). The server log has details."


def _history(history: list[list[str]] | None) -> list[tuple[str, str]] | None:
    if not history:
        return None
    turns = []
    for turn in history:
        if not isinstance(turn, list | tuple) or len(turn) != 2:
            raise qa.QuestionError(
                "history must be a list of [question, answer] pairs, oldest first"
            )
        turns.append((str(turn[0]), str(turn[1])))
    return turns


def chat_text(
    message: str,
    settings: qa.Settings,
    history: list[list[str]] | None = None,
    k: int | None = None,
    gate: IndexGate | None = None,
) -> str:
    """One question (with optional earlier turns and k): the answer text then a "Sources:"
    list, or "Error: …" (among them "Error: The index is being rebuilt, try again in a
    moment." when opening the index outlasts the gate's bound)."""
    try:
        if k is not None and not (isinstance(k, int | float) and int(k) == k and 1 <= k <= 20):
            raise qa.QuestionError(f"k must be a whole number from 1 to 20, got {k!r}")
        turns = _history(history)
        if not (message or "").strip():  # no index needed to say so
            return render.answer_plain(qa.ask(message, turns, settings=settings))
        gate = gate or IndexGate.for_settings(settings)
        for attempt in (1, 2):
            if not gate.ready(gate.start(repair=attempt == 2)):
                return f"Error: {gate.busy_text()}"
            try:
                answer = qa.ask(
                    message, turns, k=int(k) if k is not None else None, settings=settings
                )
                break
            except qa.IndexBuildError as exc:  # damage found while answering: repair, retry
                if attempt == 2:
                    raise
                log.warning("the index failed while answering (%s); repairing it", exc)
        return render.answer_plain(answer)
    except Exception as exc:  # an API caller gets a message, never a trace
        return f"Error: {readable(exc)}"


def chat_endpoint(settings: qa.Settings, gate: IndexGate | None = None) -> Callable[..., str]:
    def chat(
        message: str, history: list[list[str]] | None = None, k: int | None = None
    ) -> str:
        """Answer one question from the corpus: the answer text, then a "Sources:" list.

        Args:
            message: the question.
            history: optional earlier turns, oldest first, as [question, answer] pairs, so a
                follow-up ("What did he write?") is resolved against them.
            k: optional number of passages to search, 1 to 20 (default QA_TOP_K).
        """
        return chat_text(message, settings, history, k, gate)

    return chat
