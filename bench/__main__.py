"""Run the benchmarks named on the command line (all when none) and print JSON."""

from __future__ import annotations

import importlib
import json
import pkgutil
import sys
from pathlib import Path
from typing import Any, Dict, List


def available() -> List[str]:
    here = Path(__file__).parent
    return sorted(
        m.name[len("bench_") :]
        for m in pkgutil.iter_modules([str(here)])
        if m.name.startswith("bench_")
    )


def main(argv: List[str]) -> int:
    names = argv or available()
    unknown = sorted(set(names) - set(available()))
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(available())}")
        return 2
    results: Dict[str, Any] = {}
    for name in names:
        module = importlib.import_module(f"bench.bench_{name}")
        results[name] = module.run()
        print(json.dumps({name: results[name]}, ensure_ascii=False), file=sys.stderr)
    print(json.dumps(results, ensure_ascii=False, indent=2))
    # A benchmark that checks budgets (bench_budget) lists the missed ones: exit 1.
    return 1 if any(isinstance(r, dict) and r.get("missed") for r in results.values()) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
