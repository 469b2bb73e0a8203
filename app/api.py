"""The ``/chat`` API endpoint: one question in, answer text with its sources out.

No ``from __future__ import annotations`` here: gradio reads the endpoint's type hints as real
types to describe it (``str -> str``) to ``gradio_client``.
"""

import logging
from collections.abc import Callable

import qa
from app import render

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
) -> str:
    """One question (with optional earlier turns and k): the answer text then a "Sources:"
    list, or "Error: …"."""
    try:
        if k is not None and not (isinstance(k, int | float) and int(k) == k and 1 <= k <= 20):
            raise qa.QuestionError(f"k must be a whole number from 1 to 20, got {k!r}")
        answer = qa.ask(
            message, _history(history), k=int(k) if k is not None else None, settings=settings
        )
        return render.answer_plain(answer)
    except Exception as exc:  # an API caller gets a message, never a trace
        return f"Error: {readable(exc)}"


def chat_endpoint(settings: qa.Settings) -> Callable[..., str]:
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
        return chat_text(message, settings, history, k)

    return chat
