"""``govkioskctl check``'s items stage (事项调试检查表): every published item end to end.

The whole kiosk of the tests (tests/harness/kiosk.py: the daemon on a private bus, the
demo department service publishing its test identity on loopback, a private cupsd):
``run_checks(stages=("items",))`` asks the daemon to test each of the seven Table 1 items
in full (fetch the test specimen, verify its seal, render its preview pages), nothing
printed. Reported: the whole stage's wall time (p50/max over the runs) and each item's
test time as the daemon measured it (p50 over the runs).
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List

from govkiosk.cli.check import PASS, Options, run_checks

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))
from harness.cups import CupsServer  # noqa: E402 - the test harness runs cupsd
from harness.dbus import PrivateBus  # noqa: E402
from harness.kiosk import kiosk  # noqa: E402

RUNS = 5


async def _measure(directory: Path, cups_server: CupsServer) -> Dict[str, Any]:
    bus = PrivateBus(directory / "dbus")
    try:
        async with kiosk(directory / "kiosk", bus, cups_server) as k:
            options = Options(
                config=k.daemon.config_path,
                state_dir=k.state_dir,
                bus=bus.address,
                stages=("items",),
            )
            stage: List[float] = []
            per_item: Dict[str, List[float]] = {}
            passed = True
            for _run in range(RUNS):
                started = time.perf_counter()
                _info, checks = await run_checks(options)
                stage.append(time.perf_counter() - started)
                for check in checks:
                    passed = passed and check.status == PASS and check.mode == "full"
                    took = float(check.detail.rsplit(", ", 1)[-1].split()[0])
                    per_item.setdefault(check.name.split()[0], []).append(took)
    finally:
        bus.stop()
    return {
        "items": len(per_item),
        "runs": RUNS,
        "all_passed_in_full": passed,
        "stage_p50_s": round(statistics.median(stage), 3),
        "stage_max_s": round(max(stage), 3),
        "item_p50_s": {code: round(statistics.median(t), 2) for code, t in per_item.items()},
    }


def run() -> Dict[str, Any]:
    cups_server = CupsServer()
    cups_server.start()
    try:
        with tempfile.TemporaryDirectory(prefix="govkiosk-bench-itemtest-") as directory:
            return asyncio.run(_measure(Path(directory), cups_server))
    finally:
        cups_server.remove()
