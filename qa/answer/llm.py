"""LLM answer backends (Ollama, any OpenAI-compatible server), grounded and verified.

The model sees only the retrieved passages, numbered and fenced as data, and must cite them as
``[n]``; ``qa.answer.verify`` then turns its markers into verbatim quotes or drops them. Tokens
stream as they arrive; the final answer (with checked citations) comes when the stream ends.
Any backend failure (misconfiguration, unreachable server, timeout, HTTP error, empty output)
falls back to the extractive answer with a visible notice, so a question is always answered.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import replace
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from qa.answer.common import (
    INJECTION_REPLY,
    NOTHING_FOUND,
    abstention,
    stream_text,
    to_passages,
)
from qa.answer.extractive import extractive_answer
from qa.answer.prompts import PromptPassage, answer_messages, condense_messages
from qa.answer.verify import verify
from qa.config import Settings
from qa.errors import BackendError, ConfigError
from qa.ingest.roles import looks_injected
from qa.models import Answer, Passage, StreamEvent
from qa.retrieval.analysis import analyse
from qa.retrieval.named import search_named
from qa.retrieval.questions import PreparedQuestion, check_history

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

    from qa.index.opened import OpenedIndex
    from qa.retrieval.hybrid import Candidate

log = logging.getLogger(__name__)

MAX_CONDENSED_CHARS = 500
# Reasoning models served without a separate thinking channel put their reasoning inline.
_THINKING = re.compile(r"<think>.*?(</think>|$)", re.DOTALL | re.IGNORECASE)


def backend_url(settings: Settings) -> str | None:
    if settings.answer_backend == "openai":
        return settings.openai_base_url
    return settings.ollama_url


def chat_model(settings: Settings) -> BaseChatModel:
    """The chat model for ``settings.answer_backend``; ``ConfigError`` when it cannot be named."""
    backend = settings.answer_backend
    if backend not in ("ollama", "openai"):
        raise ConfigError(f"{backend!r} is not an LLM backend; use ollama or openai")
    if not settings.llm_model:
        raise ConfigError(f"QA_LLM_MODEL is not set; name the model the {backend} server serves")
    url = backend_url(settings)
    if not url:
        raise ConfigError(
            "QA_OPENAI_BASE_URL is not set; point it at an OpenAI-compatible server, "
            "e.g. http://127.0.0.1:8000/v1"
        )
    if backend == "openai":
        return _openai(url, settings.openai_api_key, settings.llm_model, settings.llm_timeout)
    return _ollama(url, settings.llm_model, settings.llm_timeout)


# Clients hold connection pools: one per configuration, shared by every question and thread.
@lru_cache(maxsize=8)
def _openai(url: str, api_key: str | None, model: str, timeout: float) -> BaseChatModel:
    from langchain_openai import ChatOpenAI
    from pydantic import SecretStr

    return ChatOpenAI(
        base_url=url, api_key=SecretStr(api_key or "not-needed"), model=model,
        timeout=timeout, max_retries=0,
    )


@lru_cache(maxsize=8)
def _ollama(url: str, model: str, timeout: float) -> BaseChatModel:
    from langchain_ollama import ChatOllama

    return ChatOllama(
        base_url=url, model=model, temperature=0.0, client_kwargs={"timeout": timeout}
    )


def generate_stream(
    engine: OpenedIndex,
    settings: Settings,
    prepared: PreparedQuestion,
    candidates: list[Candidate],
    passages: list[Passage],
    *,
    history: Any = None,
    sources: list[str] | None = None,
) -> Iterator[StreamEvent]:
    """Deltas from the model, then the verified ``Answer`` (or the extractive one on failure);
    a follow-up the model condenses is searched again within ``sources`` too."""
    backend = settings.answer_backend
    if prepared.injected:  # never hand an instruction-laden question to a model
        yield from stream_text(abstention(prepared, passages, INJECTION_REPLY, backend))
        return
    turns = check_history(history)
    streamed = False
    try:
        llm = chat_model(settings)
        if turns:
            condensed = condense(llm, prepared.question, turns)
            if condensed and condensed != prepared.query:
                prepared = replace(prepared, query=condensed)
                candidates = search_named(engine, condensed, analyse(condensed),
                                          sources=sources)
                passages = to_passages(engine, candidates[: settings.top_k])
        numbered = prompt_passages(candidates[: settings.top_k])
        if not numbered:
            yield from stream_text(abstention(
                prepared, passages, NOTHING_FOUND, backend
            ))
            return
        parts: list[str] = []
        for chunk in llm.stream(answer_messages(prepared.query, numbered)):
            piece = str(chunk.text)
            if piece:
                parts.append(piece)
                streamed = True
                yield StreamEvent(delta=piece)
        raw = _THINKING.sub("", "".join(parts)).strip()
        if not raw:
            raise BackendError("the model returned an empty answer")
    except Exception as exc:  # any failure of the backend: fall back, say so once
        yield from _fallback(
            engine, settings, prepared, candidates, passages, exc, streamed, sources
        )
        return
    checked = verify(engine, prepared.query, raw, numbered)
    notices = [n for n in (prepared.notice, checked.notice) if n]
    answer = Answer(
        text=checked.text, abstained=checked.abstained, citations=checked.citations,
        passages=passages, query=prepared.query, backend=backend,
        notice=" ".join(notices) or None,
    )
    if checked.dropped_markers or checked.dropped_sentences:
        log.info(
            "verification removed %d marker(s) and %d sentence(s) from the %s answer",
            checked.dropped_markers, len(checked.dropped_sentences), backend,
        )
    yield StreamEvent(answer=answer)


def condense(llm: BaseChatModel, question: str, history: list[tuple[str, str]]) -> str | None:
    """The follow-up rewritten as a standalone question, or None when the reply is unusable.

    Transport errors propagate: a server that cannot condense cannot answer either, and waiting
    for a second timeout would only double the delay before the fallback.
    """
    reply = _THINKING.sub("", str(llm.invoke(condense_messages(question, history)).text))
    lines = [ln.strip() for ln in reply.strip().splitlines() if ln.strip()]
    if not lines:
        return None
    text = re.sub(r"^(standalone question|question)\s*:\s*", "", lines[0], flags=re.I)
    text = text.strip().strip("\"“”'` ").strip()
    too_long = len(text) > min(MAX_CONDENSED_CHARS, 3 * len(question) + 200)
    if len(text) < 3 or too_long or looks_injected(text):
        log.info("ignored an unusable condensed question: %r", text[:200])
        return None
    return text


def prompt_passages(candidates: list[Candidate]) -> list[PromptPassage]:
    out = []
    for number, c in enumerate(candidates, start=1):
        meta = c.metadata
        out.append(PromptPassage(
            number=number, chunk_id=c.chunk_id, source=str(meta["source"]),
            title=str(meta.get("title", meta["source"])), section=str(meta.get("section")) or None,
            text=c.text, start=int(meta["start"]), end=int(meta["end"]),
        ))
    return out


def describe(exc: BaseException, settings: Settings) -> str:
    """A short, user-facing reason for a backend failure (walks wrapped exceptions)."""
    seen: list[BaseException] = []
    e: BaseException | None = exc
    while e is not None and e not in seen:
        seen.append(e)
        e = e.__cause__ or e.__context__
    for e in seen:
        if isinstance(e, (ConfigError, BackendError)):
            return str(e)
    for e in seen:
        name = type(e).__name__.lower()
        if "timeout" in name or isinstance(e, TimeoutError):
            return f"no reply within {settings.llm_timeout:g} s"
    for e in seen:
        status = getattr(e, "status_code", None)
        if isinstance(status, int) and status >= 400:
            detail = " ".join(str(getattr(e, "message", None) or getattr(e, "error", "")).split())
            return f"HTTP {status}" + (f" ({detail[:160]})" if detail else "")
    for e in seen:
        name = type(e).__name__.lower()
        if "connect" in name or isinstance(e, ConnectionError):
            return "cannot connect to the server (is it running?)"
    text = " ".join(str(exc).split())[:160]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _fallback(
    engine: OpenedIndex,
    settings: Settings,
    prepared: PreparedQuestion,
    candidates: list[Candidate],
    passages: list[Passage],
    exc: Exception,
    streamed: bool,
    sources: list[str] | None,
) -> Iterator[StreamEvent]:
    reason = describe(exc, settings)
    where = backend_url(settings) or "no URL"
    log.warning("LLM backend %s at %s failed: %s", settings.answer_backend, where, reason)
    answer = extractive_answer(engine, prepared, candidates, passages, sources=sources)
    notice = (
        f"The LLM backend ({settings.answer_backend} at {where}) failed: {reason}; "
        "showing the extractive answer."
    )
    answer = replace(answer, notice=" ".join(n for n in (answer.notice, notice) if n))
    if streamed:  # the UI replaces the partial text with the final answer
        yield StreamEvent(answer=answer)
    else:
        yield from stream_text(answer)
