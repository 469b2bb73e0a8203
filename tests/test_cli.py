"""The command line: --help everywhere, JSON answers, QAError as exit code 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

import qa

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(*args: str, settings: qa.Settings | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if settings is not None:
        env["QA_CORPUS_DIR"] = str(settings.corpus_dir)
        env["QA_INDEX_DIR"] = str(settings.index_dir)
    return subprocess.run(
        [sys.executable, "-m", "qa", *args], capture_output=True, text=True, env=env, cwd=REPO,
        timeout=600,
    )


@pytest.mark.parametrize("command", [[], ["ask"], ["retrieve"], ["index"], ["status"]])
def test_help(command: list[str]) -> None:
    result = run(*command, "--help")
    assert result.returncode == 0
    assert "usage: python -m qa" in result.stdout


@pytest.mark.slow
def test_ask_json(settings: qa.Settings) -> None:
    result = run("ask", "Who was appointed special envoy?", "--json", settings=settings)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["abstained"] is False and data["citations"]
    assert "Kellogg" in data["text"]


@pytest.mark.slow
def test_retrieve_k(settings: qa.Settings) -> None:
    result = run("retrieve", "NATO membership", "-k", "3", "--json", settings=settings)
    assert result.returncode == 0, result.stderr
    assert len(json.loads(result.stdout)) == 3


@pytest.mark.slow
def test_source_restricts_ask_and_retrieve(settings: qa.Settings) -> None:
    crs = "crs_IF12760_russia_north_korea_relations.md"
    found = run("retrieve", "special envoy", "--source", crs, "--json", settings=settings)
    assert found.returncode == 0, found.stderr
    assert {p["source"] for p in json.loads(found.stdout)} == {crs}
    answer = run("ask", "How many North Korean troops went to Russia?", "--source", crs,
                 "--json", settings=settings)
    assert answer.returncode == 0, answer.stderr
    assert {c["source"] for c in json.loads(answer.stdout)["citations"]} == {crs}
    unknown = run("ask", "Who is the envoy?", "--source", "nope.md", settings=settings)
    assert unknown.returncode == 2 and unknown.stderr.startswith("error: no document")


@pytest.mark.slow
def test_qaerror_is_one_line_and_exit_2(settings: qa.Settings) -> None:
    result = run("ask", "   ", settings=settings)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert result.stderr.startswith("error: the question is empty")
    assert "Traceback" not in result.stderr


def test_missing_corpus_is_a_clear_error(tmp_path: object) -> None:
    env_settings = qa.Settings.from_env(
        env={}, corpus_dir=os.path.join(str(tmp_path), "nope"),  # type: ignore[arg-type]
        index_dir=os.path.join(str(tmp_path), "idx"),  # type: ignore[arg-type]
    )
    result = run("index", "--quiet", settings=env_settings)
    assert result.returncode == 2
    assert "corpus directory" in result.stderr
