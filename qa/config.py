"""The one settings object, filled from ``QA_*`` environment variables and CLI flags.

Parsing is strict and typed by the dataclass fields (``parse_value``), so no pydantic import is
paid on ``import qa``: "false"/"0"/"no"/"off" is False for a boolean, a number that is not one
or out of range (``QA_TOP_K=abc``, ``QA_PORT=-1``) is a ``ConfigError`` naming the variable.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any, get_args, get_type_hints

from qa.errors import ConfigError

REPO_ROOT = Path(__file__).resolve().parents[1]
BACKENDS = ("extractive", "ollama", "openai")

# Set before any heavy import: nothing may reach a model hub or send telemetry.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Paths, model, retrieval and backend settings; read once, passed down."""

    corpus_dir: Path = REPO_ROOT / "corpus"
    index_dir: Path = REPO_ROOT / "index"
    chroma_url: str | None = None
    answer_backend: str = "extractive"
    llm_model: str | None = None
    ollama_url: str = "http://127.0.0.1:11434"
    openai_base_url: str | None = None
    openai_api_key: str | None = None
    llm_timeout: float = 30.0
    judge_model: str | None = None
    host: str = "127.0.0.1"
    port: int = 7860
    auth: str | None = None  # "user:password" for the Gradio app
    queue_concurrency: int = 4
    top_k: int = 5
    chunk_chars: int = 500  # soft maximum of a chunk's cleaned text
    max_question_chars: int = 2000  # longer questions are truncated with a notice
    embed_batch_size: int = 64
    # How often a long-running process looks for corpus changes: None = before every question
    # while a scan is quick (< SLOW_SCAN_SECONDS), else at most once a second; 0 = always.
    rescan_seconds: float | None = None
    # Index files reached through a symlink whose target lies outside the corpus directory
    # (off: they are skipped and reported, so a chat cannot quote a file outside the corpus).
    follow_outside_symlinks: bool = False
    # Server mode: how long a writer's lease on the shared index lasts unless renewed (the
    # holder renews it every third of this; a writer that dies frees the index after it).
    index_lease_seconds: float = 30.0

    ENV = {
        "corpus_dir": "QA_CORPUS_DIR",
        "index_dir": "QA_INDEX_DIR",
        "chroma_url": "QA_CHROMA_URL",
        "answer_backend": "QA_ANSWER_BACKEND",
        "llm_model": "QA_LLM_MODEL",
        "ollama_url": "QA_OLLAMA_URL",
        "openai_base_url": "QA_OPENAI_BASE_URL",
        "openai_api_key": "QA_OPENAI_API_KEY",
        "llm_timeout": "QA_LLM_TIMEOUT",
        "judge_model": "QA_JUDGE_MODEL",
        "host": "QA_HOST",
        "port": "QA_PORT",
        "auth": "QA_AUTH",
        "queue_concurrency": "QA_QUEUE_CONCURRENCY",
        "top_k": "QA_TOP_K",
        "chunk_chars": "QA_CHUNK_CHARS",
        "max_question_chars": "QA_MAX_QUESTION_CHARS",
        "embed_batch_size": "QA_EMBED_BATCH_SIZE",
        "rescan_seconds": "QA_RESCAN_SECONDS",
        "follow_outside_symlinks": "QA_FOLLOW_OUTSIDE_SYMLINKS",
        "index_lease_seconds": "QA_INDEX_LEASE_SECONDS",
    }

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Settings from ``QA_*`` variables, then explicit overrides (CLI flags) on top.

        Each variable is parsed by its field's type: numbers must be numbers within range,
        booleans one of true/false, 1/0, yes/no, on/off; an empty variable counts as unset.
        A bad value raises ``ConfigError`` naming the variable and the value.
        """
        env = dict(os.environ if env is None else env)
        values: dict[str, Any] = {}
        types = _field_types(cls)
        for name, var in cls.ENV.items():
            raw = env.get(var)
            if raw is None or raw.strip() == "":
                continue
            values[name] = parse_value(var, raw, types[name])
        if not values.get("openai_api_key") and env.get("OPENAI_API_KEY"):
            values["openai_api_key"] = env["OPENAI_API_KEY"]
        values.update({k: v for k, v in overrides.items() if v is not None})
        settings = cls(**values)
        settings.check()
        return settings

    def with_(self, **changes: Any) -> Settings:
        """A copy with some fields changed (None values are ignored)."""
        new = replace(self, **{k: v for k, v in changes.items() if v is not None})
        new.check()
        return new

    def check(self) -> None:
        """Values in range, whether they came from the environment, a flag or ``with_``."""
        if self.answer_backend not in BACKENDS:
            raise ConfigError(
                f"QA_ANSWER_BACKEND={self.answer_backend!r} is unknown; use one of {BACKENDS}"
            )
        for name, (low, high) in RANGES.items():
            value = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ConfigError(f"{self._var(name)}={value!r} is not a number")
            if (low is not None and value < low) or (high is not None and value > high):
                raise ConfigError(
                    f"{self._var(name)}={value!r} is out of range: {_span(low, high)}"
                )
        if self.auth is not None and ":" not in self.auth:
            raise ConfigError("QA_AUTH must look like user:password")

    def _var(self, name: str) -> str:
        return self.ENV.get(name, name)


# Numeric settings and their bounds (inclusive; None = unbounded).
RANGES: dict[str, tuple[float | None, float | None]] = {
    "llm_timeout": (0.001, None),
    "port": (1, 65535),
    "queue_concurrency": (1, 1024),
    "top_k": (1, 100),
    "chunk_chars": (100, None),
    "max_question_chars": (1, None),
    "embed_batch_size": (1, None),
    "rescan_seconds": (0, None),
    "index_lease_seconds": (1, None),
}
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


def parse_value(var: str, raw: str, kind: Any) -> Any:
    """``raw`` (the value of variable ``var``) converted to type ``kind``; ConfigError if it
    is not one. ``kind`` is a field's resolved type: str, int, float, bool, Path or X | None."""
    args = [a for a in get_args(kind) if a is not type(None)]
    if args:  # X | None: an explicit value is an X
        kind = args[0]
    text = raw.strip()
    if kind is bool:
        if text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
        raise ConfigError(f"{var}={raw!r} is not a boolean; use true/false, 1/0, yes/no or on/off")
    if kind is int:
        try:
            return int(text)
        except ValueError:
            raise ConfigError(f"{var}={raw!r} is not a whole number") from None
    if kind is float:
        try:
            value = float(text)
        except ValueError:
            raise ConfigError(f"{var}={raw!r} is not a number") from None
        if not math.isfinite(value):
            raise ConfigError(f"{var}={raw!r} is not a finite number")
        return value
    if kind is Path:
        return Path(text).expanduser()
    return raw


def _field_types(cls: type) -> dict[str, Any]:
    hints = get_type_hints(cls)
    return {f.name: hints[f.name] for f in fields(cls)}


def _span(low: float | None, high: float | None) -> str:
    if high is None:
        return f"must be at least {low}"
    if low is None:
        return f"must be at most {high}"
    return f"must be between {low} and {high}"
