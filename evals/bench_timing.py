"""Timers, memory and percentiles shared by the benchmark's parts.

Percentiles are ``evals.metrics.percentile``: linear interpolation between the nearest ranks.
"""

from __future__ import annotations

import resource
import time
from collections.abc import Callable
from typing import Any

from evals.metrics import percentile


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    """``fn()`` and the seconds it took."""
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def percentiles_ms(name: str, values_ms: list[float], digits: int = 2) -> dict[str, float]:
    """``{name}_p50_ms`` and ``{name}_p95_ms`` of ``values_ms`` (NaN when there are none)."""
    out = {}
    for q in (50, 95):
        value = percentile(values_ms, q)
        out[f"{name}_p{q}_ms"] = float("nan") if value is None else round(value, digits)
    return out


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20
