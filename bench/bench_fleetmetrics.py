"""Fleet metrics (``govkioskctl fleet serve``): scrape time and memory with N simulated kiosks.

Each N runs in a fresh process: N kiosks' retained ``state`` and one realistic telemetry
document each (20 catalogue items with sessions and 好差评, paper, availability; the
daemon's shape, ``tests/harness/fleetdocs.py``) and two alarms are fed to the model the
exporter runs (``FleetMetrics.handle``), then ``/metrics`` is rendered 5 times. Reported:
messages handled per second (one core), the median render time, the exposition's size
and series count, and the process's RSS growth over its baseline (``/proc/self/statm``)
divided per kiosk. ``labels`` says whether per-kiosk series were served (fleet within
``limits.kiosk_labels_max``, default 2,000); the ``+labels`` rows force them on to show
their cost.

    python -m bench fleetmetrics
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Sequence

REPO = Path(__file__).resolve().parent.parent
SIZES = ((1000, 2000), (5000, 2000), (5000, 10000), (20000, 2000), (60000, 2000))
ITEMS = 20
RENDERS = 5


def _rss() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def measure(kiosks: int, labels_max: int) -> Dict[str, Any]:
    sys.path.insert(0, str(REPO / "tests"))
    from govkiosk.fleet.exposition import render  # noqa: PLC0415
    from govkiosk.fleet.metrics import FleetMetrics  # noqa: PLC0415
    from govkiosk.fleet.settings import FleetServeSettings, Limits  # noqa: PLC0415
    from harness.fleetdocs import alarm, parse, state, telemetry  # noqa: PLC0415

    items = {
        f"item_{n:02d}": {
            "sessions": {"done": 40 + n, "cancelled": 3, "walked_away": 1, "failed": n % 3},
            "evaluations": {"5": 30, "4": 5, "2": 1},
            "reasons": {"too_slow": 1},
        }
        for n in range(ITEMS)
    }
    model = FleetMetrics(FleetServeSettings(limits=Limits(kiosk_labels_max=labels_max)))
    messages = []
    for n in range(kiosks):
        kiosk = f"hl-hrb-{n:05d}"
        base = f"kiosk/v1/{kiosk}"
        messages.append((f"{base}/state", state(kiosk, online=n % 50 != 0)))
        messages.append((f"{base}/telemetry", telemetry(kiosk, 1.0, items=items)))
        if n % 100 == 0:
            messages.append((f"{base}/evt/alarm", alarm(kiosk, f"{n}", "paper_low", "warning")))
    before = _rss()
    started = time.perf_counter()
    for topic, payload in messages:
        model.handle(topic, payload, 10.0)
    fed = time.perf_counter() - started
    del messages
    grown = _rss() - before
    times: List[float] = []
    body = b""
    for _ in range(RENDERS):
        started = time.perf_counter()
        body = render(model.families(10.0))
        times.append(time.perf_counter() - started)
    series = parse(body.decode("utf-8"))
    return {
        "kiosks": kiosks,
        "labels": len(model.kiosks) <= labels_max,
        "messages_per_s": round(len(model.kiosks) * 2 / fed),
        "render_ms_p50": round(statistics.median(times) * 1000, 1),
        "exposition_kib": round(len(body) / 1024, 1),
        "series": len(series),
        "rss_growth_mib": round(grown / 2**20, 1),
        "rss_per_kiosk_kib": round(grown / kiosks / 1024, 2),
    }


def run(argv: Sequence[str] = ()) -> Dict[str, Any]:
    if argv and argv[0] == "--child":
        print(json.dumps(measure(int(argv[1]), int(argv[2]))))
        return {}
    rows = []
    for kiosks, labels_max in SIZES:
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "bench",
                "fleetmetrics",
                "--child",
                str(kiosks),
                str(labels_max),
            ],
            cwd=REPO,
            check=True,
            capture_output=True,
            text=True,
            timeout=1800,
        )
        row = json.loads(out.stdout.split("\n")[0])
        row["case"] = f"{kiosks}{'+labels' if labels_max > 2000 else ''}"
        rows.append(row)
    return {"items_per_kiosk": ITEMS, "cases": rows}
