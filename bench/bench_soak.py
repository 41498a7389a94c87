"""``python -m bench soak [--sessions N] [--warmup W] [--every E] [--seed S] [--ui]``: N
citizen sessions through the whole kiosk, ``govkioskd`` a real process
(tests/harness/soak.py); with ``--ui`` the real UI follows them on a private Xvfb screen
and its RSS is sampled too.

Prints, as JSON lines on stderr while it runs, the daemon's figures after the warm-up and
every E sessions (RSS, fds, threads, children, SQLite and WAL size, log volume, ops outbox
depth, outcomes), then the report. Exits non-zero, naming the figure, when one grew after
the warm-up beyond its tolerance (harness.soak.TOLERANCES), and fails if any simulated
citizen's personal data is left in the state directory, the logs or the temp files.
Not part of ``make test``; tests/test_soak.py runs a short one with the same checks.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
from pathlib import Path
from typing import Any, Dict, List, Optional

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))
from harness.soak import Sample, soak  # noqa: E402 - the test harness runs the kiosk


class SoakFailed(SystemExit):
    """A figure grew beyond its tolerance: the exit status is 1, the message says which."""


def parse_args(argv: List[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench soak")
    parser.add_argument("--sessions", type=int, default=1000)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--every", type=int, default=500)
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--ui", action="store_true", help="govkiosk-ui follows, on Xvfb")
    parser.add_argument("--keep", type=Path, help="run in this directory and keep it")
    return parser.parse_args(argv)


def _print(figures: Sample) -> None:
    print(json.dumps({"soak_sample": figures.as_dict()}, ensure_ascii=False), file=sys.stderr)


def run(argv: Optional[List[str]] = None) -> Dict[str, Any]:
    args = parse_args(argv or [])

    async def main(directory: Path) -> Dict[str, Any]:
        report = await soak(
            directory,
            args.sessions,
            warmup=args.warmup,
            every=args.every,
            seed=args.seed,
            ui=args.ui,
            on_sample=_print,
        )
        return report.as_dict()

    if args.keep is not None:
        result = asyncio.run(main(args.keep))
    else:
        with tempfile.TemporaryDirectory(prefix="govkiosk-soak-") as directory:
            result = asyncio.run(main(Path(directory)))
    if result["growth"]:
        print(json.dumps({"soak": result}, ensure_ascii=False, indent=2))
        raise SoakFailed("soak: grew after the warm-up: " + "; ".join(result["growth"]))
    return result
