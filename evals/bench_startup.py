"""How fast a process starts: ``python -c pass``, ``import qa`` and ``python -m qa --help``.

Each command runs in a new process, best of ``runs``, and is reported with its ratio to the bare
interpreter in the same run (so a slower machine does not hide a regression). The targets:
``import qa`` <= 0.3 s and ``python -m qa --help`` <= 0.5 s (heavy libraries load on first use).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from typing import Any

from evals.bench_synthetic import REPO

COMMANDS = {
    "python": ["-c", "pass"],
    "import_qa": ["-c", "import qa"],
    "cli_help": ["-m", "qa", "--help"],
}
LIMITS_S = {"import_qa": 0.3, "cli_help": 0.5}
LABELS = {"python": "python -c pass", "import_qa": "import qa", "cli_help": "python -m qa --help"}


def best_wall_seconds(args: list[str], runs: int) -> float:
    """The fastest of ``runs`` wall times of ``python <args>`` in a new process."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    best = float("inf")
    for _ in range(runs):
        t = time.perf_counter()
        # No timeout: with one, ``subprocess`` polls the child in sleeps of up to 50 ms.
        subprocess.run([sys.executable, *args], cwd=REPO, env=env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        best = min(best, time.perf_counter() - t)
    return best


def measure_startup(runs: int = 5) -> dict[str, Any]:
    """``{name}_s`` (best of ``runs``) and ``{name}_ratio`` (to ``python -c pass``) per command,
    and whether each stays within its limit."""
    seconds = {name: best_wall_seconds(args, runs) for name, args in COMMANDS.items()}
    out: dict[str, Any] = {"runs": runs}
    for name, value in seconds.items():
        out[f"{name}_s"] = round(value, 3)
        if name != "python":
            out[f"{name}_ratio"] = round(value / seconds["python"], 2)
            out[f"{name}_limit_s"] = LIMITS_S[name]
            out[f"{name}_within_limit"] = value <= LIMITS_S[name]
    return out


def print_startup(result: dict[str, Any]) -> None:
    print(f"startup (new process, best of {result['runs']}):")
    for name, label in LABELS.items():
        line = f"  {label:<20} {result[f'{name}_s']:.3f} s"
        if name != "python":
            verdict = "ok" if result[f"{name}_within_limit"] else "OVER"
            line += (f"  {result[f'{name}_ratio']:.1f}x python -c pass"
                     f"  (limit {result[f'{name}_limit_s']} s: {verdict})")
        print(line)
