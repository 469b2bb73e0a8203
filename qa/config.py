"""The one settings object, filled from ``QA_*`` environment variables and CLI flags."""

from __future__ import annotations

import os
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

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
    }

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides: Any) -> Settings:
        """Settings from ``QA_*`` variables, then explicit overrides (CLI flags) on top."""
        env = dict(os.environ if env is None else env)
        values: dict[str, Any] = {}
        types = {f.name: f.type for f in fields(cls)}
        for name, var in cls.ENV.items():
            raw = env.get(var)
            if raw is None or raw == "":
                continue
            values[name] = _convert(name, var, raw, str(types[name]))
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
        if self.answer_backend not in BACKENDS:
            raise ConfigError(
                f"QA_ANSWER_BACKEND={self.answer_backend!r} is unknown; use one of {BACKENDS}"
            )
        if self.top_k < 1 or self.top_k > 100:
            raise ConfigError(f"top_k must be between 1 and 100, got {self.top_k}")
        if self.chunk_chars < 100:
            raise ConfigError(f"chunk_chars must be at least 100, got {self.chunk_chars}")
        if self.rescan_seconds is not None and self.rescan_seconds < 0:
            raise ConfigError(f"QA_RESCAN_SECONDS must be >= 0, got {self.rescan_seconds}")
        if self.auth is not None and ":" not in self.auth:
            raise ConfigError("QA_AUTH must look like user:password")


def _convert(name: str, var: str, raw: str, type_name: str) -> Any:
    try:
        if "Path" in type_name:
            return Path(raw).expanduser()
        if type_name.startswith("int"):
            return int(raw)
        if type_name.startswith("float"):
            return float(raw)
    except ValueError as exc:
        raise ConfigError(f"{var}={raw!r} is not a valid value for {name}") from exc
    return raw
