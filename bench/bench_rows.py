"""Item rows: what the bilingual presentation fields cost ``ListItems``.

The default catalogue plus the demo's item, built as ``Session1`` rows (``item_row``) and
marshalled as the D-Bus reply the UI reads on each ``CatalogueChanged``: the reply's size
with and without the presentation keys (``presentation()``: summaries, icon, English
texts, the consent notice), and the time to build and marshal it.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Dict, List

from dbus_next import Message, MessageType

from govkiosk.api.session import item_row, presentation
from govkiosk.items.catalogue import default_catalogue, load_catalogue

DEMO_ITEMS = Path(__file__).resolve().parents[1] / "config" / "demo-items.toml"
ROUNDS = 200


def _reply(rows: List[Dict[str, Any]]) -> int:
    message = Message(
        message_type=MessageType.METHOD_RETURN,
        reply_serial=1,
        destination=":1.1",
        signature="aa{sv}",
        body=[rows],
    )
    return len(message._marshall(negotiate_unix_fd=False))  # dbus-next has no public form


def run() -> Dict[str, Any]:
    items = [*default_catalogue().items, *load_catalogue(DEMO_ITEMS).items]
    rows = [item_row(item, (True, "")) for item in items]
    extra = set(presentation(items[0]))
    plain = [{k: v for k, v in row.items() if k not in extra} for row in rows]
    started = time.perf_counter()
    for _ in range(ROUNDS):
        _reply([item_row(item, (True, "")) for item in items])
    per_call = (time.perf_counter() - started) / ROUNDS
    return {
        "items": len(items),
        "reply_bytes": _reply(rows),
        "reply_bytes_without_presentation": _reply(plain),
        "build_and_marshal_ms": round(per_call * 1000, 3),
    }
