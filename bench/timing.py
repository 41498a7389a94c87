"""Timing a call many times, and the summary benchmarks print (p50, p99 in ms)."""

from __future__ import annotations

import time
from typing import Callable, Dict, List


def times(call: Callable[[], object], runs: int) -> List[float]:
    """``runs`` timings of ``call``, in milliseconds, sorted."""
    spent = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        spent.append((time.perf_counter() - started) * 1000)
    return sorted(spent)


def summary(spent: List[float]) -> Dict[str, float]:
    """p50 and p99 of sorted timings (ms), and how many."""
    return {
        "p50_ms": round(spent[len(spent) // 2], 2),
        "p99_ms": round(spent[min(len(spent) - 1, int(len(spent) * 0.99))], 2),
        "runs": len(spent),
    }
