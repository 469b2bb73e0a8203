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


def chat_text(message: str, settings: qa.Settings) -> str:
    """One question, no history: the answer text then a "Sources:" list, or "Error: …"."""
    try:
        return render.answer_plain(qa.ask(message, settings=settings))
    except Exception as exc:  # an API caller gets a message, never a trace
        return f"Error: {readable(exc)}"


def chat_endpoint(settings: qa.Settings) -> Callable[[str], str]:
    def chat(message: str) -> str:
        """Answer one question from the corpus: the answer text, then a "Sources:" list."""
        return chat_text(message, settings)

    return chat
