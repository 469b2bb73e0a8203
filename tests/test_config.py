"""Settings are parsed strictly by type: a bad value is a ConfigError naming the variable."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path
from typing import ClassVar

import pytest

import qa
from qa.config import Settings, parse_value
from qa.errors import ConfigError
from tests.conftest import REPO


@dataclasses.dataclass(frozen=True, kw_only=True)
class _WithFlag(Settings):
    """Settings plus a boolean, as a future flag (e.g. showing scores) would add one."""

    show_scores: bool = False
    strict: bool | None = None
    ENV: ClassVar[dict[str, str]] = {
        **Settings.ENV, "show_scores": "QA_SHOW_SCORES", "strict": "QA_STRICT",
    }


@pytest.mark.parametrize("raw", ["false", "False", "0", "no", "NO", "off", " false "])
def test_false_words_are_false(raw: str) -> None:
    assert _WithFlag.from_env(env={"QA_SHOW_SCORES": raw}).show_scores is False
    assert _WithFlag.from_env(env={"QA_STRICT": raw}).strict is False


@pytest.mark.parametrize("raw", ["true", "TRUE", "1", "yes", "on"])
def test_true_words_are_true(raw: str) -> None:
    assert _WithFlag.from_env(env={"QA_SHOW_SCORES": raw}).show_scores is True


@pytest.mark.parametrize("raw", ["maybe", "2", "tru", "-1", "n0"])
def test_other_booleans_are_errors_naming_the_variable(raw: str) -> None:
    with pytest.raises(ConfigError, match=rf"QA_SHOW_SCORES='{raw}' is not a boolean"):
        _WithFlag.from_env(env={"QA_SHOW_SCORES": raw})


@pytest.mark.parametrize(
    ("var", "raw", "message"),
    [
        ("QA_TOP_K", "abc", "QA_TOP_K='abc' is not a whole number"),
        ("QA_TOP_K", "2.5", "QA_TOP_K='2.5' is not a whole number"),
        ("QA_TOP_K", "0", "QA_TOP_K=0 is out of range"),
        ("QA_TOP_K", "101", "QA_TOP_K=101 is out of range"),
        ("QA_PORT", "-1", "QA_PORT=-1 is out of range: must be between 1 and 65535"),
        ("QA_PORT", "70000", "QA_PORT=70000 is out of range"),
        ("QA_PORT", "http", "QA_PORT='http' is not a whole number"),
        ("QA_LLM_TIMEOUT", "soon", "QA_LLM_TIMEOUT='soon' is not a number"),
        ("QA_LLM_TIMEOUT", "inf", "QA_LLM_TIMEOUT='inf' is not a finite number"),
        ("QA_LLM_TIMEOUT", "0", "QA_LLM_TIMEOUT=0.0 is out of range"),
        ("QA_RESCAN_SECONDS", "-1", "QA_RESCAN_SECONDS=-1.0 is out of range"),
        ("QA_CHUNK_CHARS", "50", "QA_CHUNK_CHARS=50 is out of range: must be at least 100"),
        ("QA_QUEUE_CONCURRENCY", "0", "QA_QUEUE_CONCURRENCY=0 is out of range"),
        ("QA_EMBED_BATCH_SIZE", "many", "QA_EMBED_BATCH_SIZE='many' is not a whole number"),
        ("QA_ANSWER_BACKEND", "gpt", "QA_ANSWER_BACKEND='gpt' is unknown"),
        ("QA_AUTH", "nopassword", "QA_AUTH must look like user:password"),
    ],
)
def test_bad_values_name_the_variable_and_the_value(var: str, raw: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        Settings.from_env(env={var: raw})
    assert message in str(info.value)


def test_values_are_typed() -> None:
    s = Settings.from_env(env={
        "QA_TOP_K": " 7 ", "QA_PORT": "8080", "QA_LLM_TIMEOUT": "2.5", "QA_RESCAN_SECONDS": "0",
        "QA_CORPUS_DIR": "~/docs", "QA_HOST": "0.0.0.0", "QA_LLM_MODEL": "", "QA_AUTH": "a:b",
    })
    assert (s.top_k, s.port, s.llm_timeout, s.rescan_seconds) == (7, 8080, 2.5, 0.0)
    assert isinstance(s.top_k, int) and isinstance(s.llm_timeout, float)
    assert s.corpus_dir == Path("~/docs").expanduser() and s.host == "0.0.0.0"
    assert s.llm_model is None  # an empty variable is unset
    assert s.auth == "a:b"


def test_openai_key_falls_back_and_overrides_win() -> None:
    s = Settings.from_env(env={"OPENAI_API_KEY": "k1", "QA_TOP_K": "3"}, top_k=9, port=None)
    assert s.openai_api_key == "k1" and s.top_k == 9 and s.port == 7860
    assert Settings.from_env(env={"OPENAI_API_KEY": "k1", "QA_OPENAI_API_KEY": "k2"}
                             ).openai_api_key == "k2"


def test_with_checks_and_stays_frozen() -> None:
    s = Settings.from_env(env={})
    t = s.with_(top_k=3, llm_model=None)
    assert (t.top_k, s.top_k) == (3, 5) and t.llm_model is None
    with pytest.raises(dataclasses.FrozenInstanceError):
        t.top_k = 4  # type: ignore[misc]
    with pytest.raises(ConfigError, match="QA_PORT=0 is out of range"):
        s.with_(port=0)
    with pytest.raises(ConfigError, match="QA_TOP_K='5' is not a number"):
        s.with_(top_k="5")
    assert Settings(top_k=4) == Settings.from_env(env={"QA_TOP_K": "4"})


def test_parse_value_by_type() -> None:
    assert parse_value("V", "3", int) == 3
    assert parse_value("V", "3", float | None) == 3.0
    assert parse_value("V", "yes", bool) is True
    assert parse_value("V", "/tmp/x", Path) == Path("/tmp/x")
    assert parse_value("V", " keep spaces ", str) == " keep spaces "


def test_import_qa_stays_cheap() -> None:
    """Settings parsing pulls in no pydantic (or anything heavy) at ``import qa``."""
    code = "import sys, qa; qa.Settings.from_env(env={}); print(sorted(m for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                         check=True)
    loaded = out.stdout
    for heavy in ("'pydantic'", "'pydantic_settings'", "'charset_normalizer'", "'markdown_it'"):
        assert heavy not in loaded, heavy
    assert qa.ConfigError is ConfigError
