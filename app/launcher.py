"""Run ``python -m app`` as a child process and wait until it serves (tests, load tests, scripts).

A real subprocess, not an in-process ``launch()``: it exercises the CLI, the environment
settings and the server exactly as a user starts them.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _tail(path: Path, chars: int = 3000) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")[-chars:]
    except OSError:
        return ""


@contextmanager
def running_server(
    command: list[str],
    url: str,
    log_path: Path,
    *,
    env: Mapping[str, str] | None = None,
    health: str = "/",
    timeout: float = 180.0,
) -> Iterator[str]:
    """Start ``command``, wait until ``url + health`` answers 200, yield ``url``, then stop it
    (terminate, then kill). Its output goes to ``log_path``, quoted when it fails to start."""
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            command, cwd=REPO, env={**os.environ, **(env or {})}, stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + timeout
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(
                        f"{command[0]} exited with {proc.returncode}:\n{_tail(log_path)}"
                    )
                try:
                    with urllib.request.urlopen(url + health, timeout=5) as resp:
                        if resp.status == 200:
                            break
                except (urllib.error.URLError, OSError):
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"not up after {timeout:.0f}s:\n{_tail(log_path)}")
                time.sleep(0.3)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=15)


@contextmanager
def running_app(
    env: Mapping[str, str],
    log_path: Path,
    *,
    host: str = "127.0.0.1",
    port: int | None = None,
    timeout: float = 180.0,
    args: Sequence[str] = (),
) -> Iterator[str]:
    """Start the UI with ``env`` added to the environment (and ``args`` after the host and
    port flags); yield its URL; stop it at the end."""
    port = port or free_port(host)
    with running_server(
        [sys.executable, "-m", "app", "--host", host, "--port", str(port), *args],
        f"http://{host}:{port}", log_path,
        env={"GRADIO_ANALYTICS_ENABLED": "False", **env}, timeout=timeout,
    ) as url:
        yield url
