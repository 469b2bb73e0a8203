"""The layout's rules hold: stages import only downwards, and ``import qa`` stays cheap."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINT = Path(sys.executable).with_name("lint-imports")


def _copy(tmp_path: Path) -> Path:
    for name in ("qa", "app", "evals"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns(
            "__pycache__", "*.jsonl", "reports"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def _lint(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT), "--config", "pyproject.toml", "--no-cache"], cwd=root, text=True,
        capture_output=True, env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
    )


def test_the_import_contract_holds_and_an_upward_import_breaks_it(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    kept = _lint(root)
    assert kept.returncode == 0, kept.stdout + kept.stderr
    roles = root / "qa" / "ingest" / "roles.py"
    roles.write_text(roles.read_text() + "\nfrom qa.answer import common  # noqa: E402\n")
    broken = _lint(root)
    assert broken.returncode != 0
    assert "qa.ingest.roles -> qa.answer.common" in broken.stdout


def test_the_app_may_not_reach_past_the_public_api(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    ui = root / "app" / "__init__.py"
    ui.write_text(ui.read_text() + "\nfrom qa.index import opened  # noqa: E402,F401\n")
    broken = _lint(root)
    assert broken.returncode != 0 and "app is not allowed to import qa.index" in broken.stdout


def test_importing_qa_loads_nothing_heavy() -> None:
    code = (
        "import sys, qa\n"
        "heavy = [m for m in ('chromadb', 'langchain_chroma', 'langchain_core', 'onnxruntime',"
        " 'torch', 'gradio', 'spacy', 'numpy') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, text=True,
                         capture_output=True, check=True)
    assert out.stdout.strip() == ""
    helped = subprocess.run([sys.executable, "-m", "qa", "--help"], cwd=ROOT, text=True,
                            capture_output=True, check=True)
    assert "usage" in helped.stdout.lower()
