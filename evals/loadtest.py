"""``python -m evals.loadtest``: concurrent users against a running app (``python -m app``).

Sends questions from the evaluation dataset through ``gradio_client`` (``api_name="/chat"``):
first one client alone (the baseline latency), then ``--clients`` clients at once sharing
``--requests`` requests. Reports throughput, p50/p95 latency (``evals.metrics.percentile``:
linear interpolation) and errors. Loopback only and bounded, so it cannot be pointed at
someone else's server or run away.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from evals.metrics import percentile

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

DATASET = Path(__file__).resolve().parent / "dataset.jsonl"
LOOPBACK = ("127.0.0.1", "localhost", "::1")
MAX_CLIENTS = 32
MAX_REQUESTS = 1000


def questions() -> list[str]:
    """The dataset's single-turn questions, in file order."""
    out = []
    for line in DATASET.read_text(encoding="utf-8").splitlines():
        if line.strip():
            item = json.loads(line)
            if not item.get("history"):
                out.append(str(item["question"]))
    return out


def run(
    make_client: Callable[[], Any], clients: int, requests: int, asks: list[str]
) -> dict[str, Any]:
    """``requests`` questions shared by ``clients`` threads, each with its own client."""
    pool = [make_client() for _ in range(clients)]  # connecting is not part of the latency
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    counter = iter(range(requests))

    def worker(client: Any) -> None:
        while True:
            with lock:
                i = next(counter, None)
            if i is None:
                return
            t = time.perf_counter()
            try:
                text = client.predict(asks[i % len(asks)], api_name="/chat")
                ok = isinstance(text, str) and bool(text.strip()) and not text.startswith("⚠")
                error = None if ok else f"bad reply: {str(text)[:120]!r}"
            except Exception as exc:  # any failure of a request is a result, not a crash
                error = f"{type(exc).__name__}: {exc}"[:200]
            elapsed = time.perf_counter() - t
            with lock:
                if error:
                    errors.append(error)
                else:
                    latencies.append(elapsed)

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as executor:
        list(executor.map(worker, pool))
    wall = time.perf_counter() - started
    for client in pool:
        close = getattr(client, "close", None)
        if close is not None:
            close()
    return {
        "clients": clients, "requests": requests, "ok": len(latencies), "errors": len(errors),
        "error_samples": errors[:5], "seconds": round(wall, 2),
        "throughput_rps": round(len(latencies) / wall, 2) if wall else 0.0,
        "p50_s": round(percentile(latencies, 50) or 0.0, 3),
        "p95_s": round(percentile(latencies, 95) or 0.0, 3),
        "mean_s": round(statistics.fmean(latencies), 3) if latencies else 0.0,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.loadtest", description=__doc__)
    parser.add_argument("--url", default="http://127.0.0.1:7860", help="the running app")
    parser.add_argument("--clients", type=int, default=8,
                        help=f"concurrent clients (<= {MAX_CLIENTS})")
    parser.add_argument("--requests", type=int, default=64,
                        help=f"requests in the concurrent phase (<= {MAX_REQUESTS})")
    parser.add_argument("--single", type=int, default=8,
                        help="requests of the single-client baseline (0 to skip)")
    parser.add_argument("--auth", default=os.environ.get("QA_AUTH"),
                        help="user:password when the app has a login (env QA_AUTH)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    host = urlparse(args.url).hostname
    if host not in LOOPBACK:
        parser.error(f"--url must be a loopback address ({', '.join(LOOPBACK)}), got {host!r}")
    if not 1 <= args.clients <= MAX_CLIENTS or not 1 <= args.requests <= MAX_REQUESTS:
        parser.error(f"--clients must be 1..{MAX_CLIENTS} and --requests 1..{MAX_REQUESTS}")

    from gradio_client import Client

    auth = tuple(args.auth.split(":", 1)) if args.auth else None

    def make_client() -> Any:
        return Client(args.url, auth=auth, verbose=False)  # type: ignore[arg-type]

    asks = questions()
    result: dict[str, Any] = {"url": args.url}
    warm = make_client()  # the app opens its index on the first question: not a user's latency
    warm.predict("What is this corpus about?", api_name="/chat")
    warm.close()
    if args.single:
        # different questions from the concurrent phase, so no answer is a cache hit
        result["single"] = run(make_client, 1, args.single, asks[::-1])
    result["concurrent"] = run(make_client, args.clients, args.requests, asks)
    if args.single and result["single"]["p50_s"]:
        result["p95_over_single_p50"] = round(
            result["concurrent"]["p95_s"] / result["single"]["p50_s"], 2
        )
    for name in ("single", "concurrent"):
        r = result.get(name)
        if r:
            print(f"{name:>10}: {r['clients']} client(s) x {r['requests']} requests: "
                  f"{r['throughput_rps']} req/s, p50 {r['p50_s']} s, p95 {r['p95_s']} s, "
                  f"{r['errors']} errors")
    if "p95_over_single_p50" in result:
        print(f"concurrent p95 / single-client p50 = {result['p95_over_single_p50']}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=1), encoding="utf-8")
    return 1 if result["concurrent"]["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
