"""UPS protocol parsing throughput: Q1 replies and a NUT ``LIST VAR`` of 40 variables."""

from __future__ import annotations

import time
from typing import Any, Callable, Dict

from govkiosk.devices.ups.megatec import BatteryModel, parse_q1, to_state
from govkiosk.devices.ups.nut import ListQuery, parse_list, state_from_vars, vars_from_items

Q1 = b"(226.0 195.0 226.0 014 49.0 27.5 30.0 00001000\r"
BATTERY = BatteryModel(20.4, 27.0, 300.0)
QUERY = ListQuery(("VAR", "ups"))
LIST = [
    "BEGIN LIST VAR ups",
    *(f'VAR ups var.number{i} "value \\"{i}\\" here"' for i in range(38)),
    'VAR ups ups.status "OB LB DISCHRG"',
    'VAR ups battery.runtime "300"',
    "END LIST VAR ups",
]


def _rate(fn: Callable[[], Any], seconds: float = 0.5) -> float:
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        fn()
        count += 1
    return count / (time.perf_counter() - start)


def run() -> Dict[str, Any]:
    q1 = _rate(lambda: to_state(parse_q1(Q1), BATTERY, "p"))
    nut = _rate(lambda: state_from_vars(vars_from_items(parse_list(QUERY, LIST)), "n"))
    return {
        "q1_readings_per_s": round(q1),
        "nut_list_var_40_per_s": round(nut),
        "target": "a poll every 5 s: anything above 100/s leaves the loop idle",
    }
