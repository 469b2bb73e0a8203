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


def copy_corpus(names: list[str], dest: Path) -> Path:
    """Copy the named corpus documents, with their sidecars, into ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in names:
        for path in CORPUS.glob(name + "*"):
            shutil.copy(path, dest / path.name)
    return dest


def indexed_copy(root: Path, names: list[str]) -> Any:
    """Settings over a copy of the named documents under ``root``, indexed."""
    from qa import Settings, reindex

    s = Settings.from_env(env={}, corpus_dir=copy_corpus(names, root / "corpus"),
                          index_dir=root / "index")
    reindex(s, progress=False)
    return s


def qa_env(settings: Any) -> dict[str, str]:
    """The environment for a ``python -m qa`` (or app) subprocess over ``settings``."""
    env = dict(os.environ)
    env.update(QA_CORPUS_DIR=str(settings.corpus_dir), QA_INDEX_DIR=str(settings.index_dir),
               PYTHONPATH=str(REPO), HF_HUB_OFFLINE="1")
    env.pop("QA_CHROMA_URL", None)
    return env


def damage_pages(db: Path, seed: int, share: float = 0.25) -> None:
    """Overwrite a share of ``db``'s 4 KiB pages (not the header) with random bytes."""
    import random

    data = bytearray(db.read_bytes())
    pages = len(data) // 4096
    rng = random.Random(seed)
    for page in rng.sample(range(1, pages), max(1, int(pages * share))):
        data[page * 4096 : (page + 1) * 4096] = rng.randbytes(4096)
    db.write_bytes(bytes(data))


def chroma_server(path: Path) -> Any:
    """A real ``chroma run`` on a free loopback port (a context manager yielding its URL)."""
    import sys

    from app.launcher import free_port, running_server

    path.mkdir(parents=True, exist_ok=True)
    port = free_port()
    return running_server(
        [str(Path(sys.executable).with_name("chroma")), "run", "--path", str(path / "data"),
         "--host", "127.0.0.1", "--port", str(port)],
        f"http://127.0.0.1:{port}", path / "server.log",
        env={"ANONYMIZED_TELEMETRY": "False"}, health="/api/v2/heartbeat", timeout=60,
    )


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
