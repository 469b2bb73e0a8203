"""An optional LLM judge for faithfulness (RAGAS-style): supported claims / claims.

It runs only when ``QA_JUDGE_MODEL`` and ``QA_OPENAI_BASE_URL`` are both set. The judge lists
the answer's claims and marks each as supported or not by the cited quotes; a timeout, a
server error or an unparsable reply scores that item as ``"error"`` and never stops a run.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from qa import Settings

NOT_RUN = "not run"
ERROR = "error"

PROMPT = """You check whether an answer is supported by its cited quotes.
1. Split the ANSWER into short, self-contained factual claims (ignore markers like [1]).
2. For each claim decide whether the QUOTES alone support it.
Reply with JSON only, no prose:
{{"claims": [{{"claim": "...", "supported": true}}]}}

QUOTES:
{quotes}

ANSWER:
{answer}
"""

_JSON = re.compile(r"\{.*\}", re.DOTALL)


def parse_verdict(reply: str) -> float | None:
    """Faithfulness from a judge reply: supported claims / claims; None if unparsable.

    Tolerates prose or code fences around the JSON object. An answer with no claims is
    vacuously faithful (1.0).
    """
    match = _JSON.search(reply)
    if not match:
        return None
    try:
        data = json.loads(match.group(0))
    except json.JSONDecodeError:
        return None
    claims = data.get("claims") if isinstance(data, dict) else None
    if not isinstance(claims, list):
        return None
    verdicts = [c.get("supported") if isinstance(c, dict) else None for c in claims]
    if not all(isinstance(v, bool) for v in verdicts):
        return None
    return sum(v is True for v in verdicts) / len(verdicts) if verdicts else 1.0


class Judge:
    """Asks an OpenAI-compatible chat model to verify claims against quotes."""

    def __init__(self, settings: Settings, timeout: float | None = None) -> None:
        from langchain_openai import ChatOpenAI

        self.model = str(settings.judge_model)
        self.chat: Any = ChatOpenAI(
            base_url=settings.openai_base_url,
            model=self.model,
            api_key=settings.openai_api_key or "none",  # type: ignore[arg-type]
            timeout=timeout or settings.llm_timeout,
            max_retries=1,
            temperature=0,
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> Judge | None:
        """A judge when both a judge model and an OpenAI-compatible server are configured."""
        if not settings.judge_model or not settings.openai_base_url:
            return None
        return cls(settings)

    def faithfulness(self, answer: str, quotes: Sequence[str]) -> float | str:
        """Share of the answer's claims its quotes support, or ``"error"``."""
        if not quotes:
            return 0.0  # an answer with no citations has nothing supporting it
        prompt = PROMPT.format(
            quotes="\n".join(f"[{i}] {q}" for i, q in enumerate(quotes, start=1)),
            answer=answer,
        )
        try:
            reply = self.chat.invoke(prompt)
        except Exception:  # any judge failure (timeout, HTTP, auth) only marks this item
            return ERROR
        content = reply.content if isinstance(reply.content, str) else str(reply.content)
        score = parse_verdict(content)
        return ERROR if score is None else score
