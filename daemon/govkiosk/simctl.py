"""``govkioskctl sim <family> …``: run a device simulator by hand.

Each family's ``sim`` module provides ``main(argv) -> int`` with its own options
(where to listen, what to script); this table finds it by family name.
"""

from __future__ import annotations

from typing import Callable, Dict, List

SimMain = Callable[[List[str]], int]

#: Family name → its simulator's command-line entry point.
SIMULATORS: Dict[str, SimMain] = {}


def run(family: str, argv: List[str]) -> int:
    if family not in SIMULATORS:
        known = ", ".join(sorted(SIMULATORS)) or "none yet"
        print(f"govkioskctl sim: unknown device family {family!r} (known: {known})")
        return 2
    return SIMULATORS[family](argv)
