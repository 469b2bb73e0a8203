"""Smoke tests of the benchmark and the load test: they run and report every figure."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.launcher import running_app
from tests.conftest import REPO


def _env(**extra: str) -> dict[str, str]:
    return {**os.environ, "HF_HUB_OFFLINE": "1", **extra}


@pytest.mark.slow
def test_markov_prose_looks_like_the_corpus() -> None:
    from evals.bench_synthetic import Markov, corpus_texts, synthetic_document

    chain = Markov(corpus_texts())
    sentences = [chain.sentence() for _ in range(200)]
    words = [len(s.split()) for s in sentences]
    assert all(s[0].isupper() or s[0].isdigit() or not s[0].isalpha() for s in sentences)
    assert all(s.endswith((".", "!", "?")) for s in sentences)
    assert 10 <= sum(words) / len(words) <= 45  # policy prose: long-ish sentences
    assert len(set(sentences)) > 150  # not a few sentences repeated
    doc = synthetic_document(0, 20, chain)
    assert doc.startswith("# ") and "\n## " in doc


@pytest.mark.slow
def test_bench_writes_every_figure(tmp_path: Path) -> None:
    from evals.bench import FIGURES

    out = tmp_path / "bench.json"
    args = [sys.executable, "-m", "evals.bench", "--sizes", "300", "--no-real", "--questions", "6",
            "--workdir", str(tmp_path / "work")]
    proc = subprocess.run([*args, "--json", str(out)], cwd=REPO, env=_env(), capture_output=True,
                          text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = json.loads(out.read_text())
    assert data["machine"]["cpus"] >= 1
    (row,) = data["rows"]
    missing = [k for k in FIGURES if k not in row]
    assert not missing, missing
    for key in FIGURES:
        assert isinstance(row[key], int | float) and math.isfinite(row[key]), (key, row[key])
    assert 250 <= row["chunks"] <= 350
    assert row["sentences"] > row["chunks"]
    assert row["reindex_changed"] == 1 and row["reindex_embedded"] >= 1
    assert row["ask_p50_ms"] >= row["embed_p50_ms"] > 0
    # one document is a sixth of this corpus: over the in-place limit, so a copy is updated
    assert row["reindex_in_place"] is False and row["reindex_next_answer_s"] > 0
    assert "ask p50" in proc.stdout  # the table
    assert data["startup"]["import_qa_s"] > 0 and "import qa" in proc.stdout
    # --reuse measures again over the index left in --workdir, without indexing it again
    again = tmp_path / "again.json"
    proc = subprocess.run([*args, "--reuse", "--json", str(again)], cwd=REPO, env=_env(),
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (reused,) = json.loads(again.read_text())["rows"]
    assert reused["reused_index"] and "index_s" not in reused
    assert reused["chunks"] == row["chunks"] and reused["reindex_changed"] == 1


def test_bench_prints_startup_times(tmp_path: Path) -> None:
    """``--startup-only``: python -c pass, import qa and python -m qa --help, each in new
    processes, with their ratio to the bare interpreter, printed and in the JSON."""
    out = tmp_path / "startup.json"
    proc = subprocess.run(
        [sys.executable, "-m", "evals.bench", "--startup-only", "--startup-runs", "2",
         "--json", str(out)],
        cwd=REPO, env=_env(), capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    for label in ("python -c pass", "import qa", "python -m qa --help"):
        assert label in proc.stdout, proc.stdout
    assert proc.stdout.count("x python -c pass") == 2  # the two ratios
    startup = json.loads(out.read_text())["startup"]
    assert startup["runs"] == 2
    for key in ("python_s", "import_qa_s", "cli_help_s", "import_qa_ratio", "cli_help_ratio"):
        assert isinstance(startup[key], float) and math.isfinite(startup[key]), key
        assert startup[key] > 0, key
    assert startup["import_qa_s"] >= startup["python_s"] * 0.5  # it ran the import at all
    assert startup["import_qa_limit_s"] == 0.3 and startup["cli_help_limit_s"] == 0.5


@pytest.fixture(scope="module")
def app_url(settings: object, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``python -m app`` on a free port over the session index, two requests at a time."""
    env = {
        "QA_CORPUS_DIR": str(settings.corpus_dir),  # type: ignore[attr-defined]
        "QA_INDEX_DIR": str(settings.index_dir),  # type: ignore[attr-defined]
        "QA_QUEUE_CONCURRENCY": "2",
    }
    with running_app(env, tmp_path_factory.mktemp("load-app") / "app.log", timeout=240) as url:
        yield url


@pytest.mark.slow
def test_loadtest_two_clients_no_errors(app_url: str, tmp_path: Path) -> None:
    out = tmp_path / "load.json"
    proc = subprocess.run(
        [sys.executable, "-m", "evals.loadtest", "--url", app_url, "--clients", "2",
         "--requests", "4", "--single", "2", "--json", str(out)],
        cwd=REPO, env=_env(), capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr[-3000:]
    data = json.loads(out.read_text())
    assert data["concurrent"]["errors"] == 0 and data["concurrent"]["ok"] == 4
    assert data["single"]["ok"] == 2
    assert data["concurrent"]["p95_s"] >= data["concurrent"]["p50_s"] > 0
    assert "p95_over_single_p50" in data


@pytest.mark.slow
def test_loadtest_refuses_remote_urls() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "evals.loadtest", "--url", "http://example.com:80"],
        cwd=REPO, env=_env(), capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 2 and "loopback" in proc.stderr


@pytest.mark.slow
def test_search_only_bench_reports_every_stage(tmp_path: Path) -> None:
    """``--search-sizes``: a real Chroma store of synthetic chunks, timed stage by stage."""
    from evals.bench_search import SEARCH_STAGES

    out = tmp_path / "bench.json"
    proc = subprocess.run(
        [sys.executable, "-m", "evals.bench", "--sizes", "", "--no-real", "--search-sizes", "2000",
         "--search-questions", "12", "--json", str(out), "--workdir", str(tmp_path / "work")],
        cwd=REPO, env=_env(), capture_output=True, text=True, timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = json.loads(out.read_text())
    assert data["rows"] == []
    (row,) = data["search_only"]
    assert row["chunks"] == 2000 and row["sentences"] > row["chunks"]
    assert row["questions"] == 12 and row["basis_sentences"] >= row["basis_real_sentences"] > 0
    for name in ("embed", *SEARCH_STAGES):
        for q in ("p50", "p95"):
            value = row[f"{name}_{q}_ms"]
            assert isinstance(value, int | float) and math.isfinite(value) and value >= 0, name
        assert row[f"{name}_p95_ms"] >= row[f"{name}_p50_ms"]
    for key in ("write_s", "lexical_build_s",
                "peak_rss_mb", "top1_similarity_p50"):
        assert isinstance(row[key], int | float) and row[key] > 0, key
    assert "mix" in row["vectors"] and "real" in row["vectors"]
    assert "total_minus_embed" in proc.stdout and "synthetic vectors" in proc.stdout  # the table
