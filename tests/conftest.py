"""Shared fixtures: the real model, a real Chroma index of the corpus in a temp dir.

No test touches the repository's ``index/``: an autouse fixture points ``QA_INDEX_DIR`` at a
temporary directory, and the session index is built once from a copy of ``corpus/``.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
os.environ["ANONYMIZED_TELEMETRY"] = "False"

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO / "corpus"
PRIMARY = "sejong-outlook-russia-2025.txt"
CHROMIUM = "/usr/bin/chromium"  # Debian's package; `make browser` installs it
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run",
]


@pytest.fixture(autouse=True)
def _isolated_paths(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every path setting points into a temp dir unless a test says otherwise."""
    base = tmp_path_factory.getbasetemp()
    monkeypatch.setenv("QA_INDEX_DIR", str(base / "autouse-index"))
    monkeypatch.setenv("QA_CORPUS_DIR", str(base / "session-corpus"))
    for var in ("QA_CHROMA_URL", "QA_ANSWER_BACKEND", "QA_LLM_MODEL", "QA_OPENAI_BASE_URL"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture(scope="session")
def session_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the project's corpus (read-only by convention)."""
    dest = tmp_path_factory.getbasetemp() / "session-corpus"
    if not dest.exists():
        shutil.copytree(CORPUS, dest)
    return dest


@pytest.fixture(scope="session")
def settings(session_corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """Settings whose index of the full corpus is built once for the session."""
    from qa import Settings, reindex

    s = Settings.from_env(
        env={}, corpus_dir=session_corpus,
        index_dir=tmp_path_factory.getbasetemp() / "session-index",
    )
    reindex(s, progress=False)
    yield s


def make_corpus(root: Path, files: dict[str, str]) -> Path:
    """Write a small corpus of text files (name -> content) under ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's headless Chromium driven by Playwright (never a downloaded browser)."""
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "Chromium missing: run `make browser`"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def app_url(settings: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``python -m app`` as a real subprocess over the session index, stopped after the module."""
    from app.launcher import running_app

    env = {"QA_CORPUS_DIR": str(settings.corpus_dir), "QA_INDEX_DIR": str(settings.index_dir)}
    with running_app(env, tmp_path_factory.mktemp("app") / "app.log") as url:
        yield url
