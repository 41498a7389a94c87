"""Run the benchmarks named on the command line (all when none) and print JSON."""

from __future__ import annotations

import importlib
import json
import pkgutil
import sys
from pathlib import Path
from typing import Any, Dict, List

#: Run only when named: ``python -m bench`` without names leaves them out.
BY_NAME_ONLY = {"soak"}


def available() -> List[str]:
    here = Path(__file__).parent
    return sorted(
        m.name[len("bench_") :]
        for m in pkgutil.iter_modules([str(here)])
        if m.name.startswith("bench_")
    )


def main(argv: List[str]) -> int:
    # ``python -m bench <name> --option …``: one benchmark, its options for its run(argv).
    first_option = next((i for i, a in enumerate(argv) if a.startswith("-")), len(argv))
    argv, options = argv[:first_option], argv[first_option:]
    if options and len(argv) != 1:
        print("options are for one benchmark: python -m bench <name> --option …")
        return 2
    names = argv or [name for name in available() if name not in BY_NAME_ONLY]
    unknown = sorted(set(names) - set(available()))
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(available())}")
        return 2
    results: Dict[str, Any] = {}
    for name in names:
        module = importlib.import_module(f"bench.bench_{name}")
        results[name] = module.run(options) if options else module.run()
        print(json.dumps({name: results[name]}, ensure_ascii=False), file=sys.stderr)
    print(json.dumps(results, ensure_ascii=False, indent=2))
    # A benchmark that checks budgets (bench_budget) lists the missed ones: exit 1.
    return 1 if any(isinstance(r, dict) and r.get("missed") for r in results.values()) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
