"""What kiosks publish, as the daemon writes it (ops/service.py, ops/view.py, upkeep/),
for the fleet metrics tests and benchmark, and the official parser's view of a scrape."""

from __future__ import annotations

import json
from typing import Any, Dict, Iterable, Mapping, Optional, Tuple

from prometheus_client.parser import text_string_to_metric_families

Series = Dict[Tuple[str, Tuple[Tuple[str, str], ...]], float]


def state(kiosk_id: str, online: bool = True, version: str = "1.4.0", reason: str = "") -> bytes:
    return json.dumps(
        {
            "online": online,
            "kiosk_id": kiosk_id,
            "reason": reason or ("connected" if online else "lost"),
            "cert": "",
            "version": version,
            "since": 1767000000.0,
            "outbox": {"queued": 0, "dropped": 0},
        }
    ).encode()


def telemetry(
    kiosk_id: str,
    at: float,
    *,
    healthy: bool = True,
    items: Optional[Mapping[str, Any]] = None,
    paper: Iterable[Tuple[str, float, bool]] = (("receipt", 80.0, False), ("a4", 55.0, False)),
    availability: Optional[Mapping[str, Any]] = None,
) -> bytes:
    document = {
        "version": "1.4.0",
        "uptime": 3600.0,
        "healthy": healthy,
        "services": [{"name": "camera", "state": "running", "detail": "", "restarts": 0}],
        "devices": [],
        "ups": {},
        "printers": {},
        "paper": {},
        "disk": {"total": 1, "free": 1},
        "idle": True,
        "busy_with": [],
        "counts": {"sessions": {}, "prints": {}, "alarms": {}},
        "load": [0.1, 0.1, 0.1],
        "kiosk_id": kiosk_id,
        "seq": 7,
        "at": at,
        "outbox": {"queued": 0, "dropped": 0},
        "refused": {},
        "intake_dropped": 0,
        "usage": {"first_day": "2026-03-01", "last_day": "2026-04-10", "items": dict(items or {})},
        "upkeep": {
            "selftest": None,
            "consumables": [
                {
                    "name": name,
                    "unit": "mm" if name == "receipt" else "sheets",
                    "used": 1.0,
                    "capacity": 100,
                    "remaining": percent,
                    "remaining_percent": percent,
                    "low": low,
                    "refilled": 0,
                }
                for name, percent, low in paper
            ],
            "availability": dict(availability or {"24h": 100.0, "30d": 99.5}),
        },
    }
    return json.dumps(document).encode()


def alarm(kiosk_id: str, alarm_id: str, code: str, severity: str, source: str = "power") -> bytes:
    return json.dumps(
        {
            "id": alarm_id,
            "seq": 1,
            "kiosk_id": kiosk_id,
            "at": 1767000000.0,
            "source": source,
            "code": code,
            "severity": severity,
            "message": "a message for people",
        },
    ).encode()


def parse(text: str) -> Series:
    """Every sample by (name, sorted labels), through the official text-format parser."""
    series: Series = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            key = (sample.name, tuple(sorted(sample.labels.items())))
            assert key not in series, f"duplicate series {key}"
            series[key] = sample.value
    return series


def value(series: Series, name: str, **labels: str) -> float:
    return series[(name, tuple(sorted(labels.items())))]


def names(series: Series) -> set:  # type: ignore[type-arg]
    return {name for name, _labels in series}
