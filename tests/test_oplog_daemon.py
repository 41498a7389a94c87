"""A real govkioskd writes the administrative actions (§8 e) to its hash-chained ops log:
maintenance logins (refused and accepted) and logouts, an item's lifecycle step, a
configuration reload — and the chain verifies."""

from __future__ import annotations

import asyncio
import json
import signal
import sqlite3
from pathlib import Path
from typing import List, Tuple

import pytest
from dbus_next import DBusError

from govkiosk.cli.main import main
from govkiosk.contract.connection import close, connect
from govkiosk.contract.names import BUS_NAME, MAINTENANCE_INTERFACE, OBJECT_PATH
from govkiosk.maintenance.pin import hash_pin
from govkiosk.store import DB_NAME
from harness.dbus import PrivateBus
from harness.govkioskd import Govkioskd
from harness.process import wait_until

PIN = "246810"


def records(state: Path) -> List[Tuple[str, str, dict]]:  # type: ignore[type-arg]
    database = state / DB_NAME
    if not database.exists():
        return []
    conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        rows = conn.execute("SELECT kind, code, detail FROM ops_log ORDER BY id").fetchall()
    except sqlite3.OperationalError:  # the table is not there yet
        rows = []
    finally:
        conn.close()
    return [(k, c, json.loads(d)) for k, c, d in rows]


async def maintenance_session(address: str) -> None:
    bus = await connect(address)
    try:
        introspection = await bus.introspect(BUS_NAME, OBJECT_PATH)
        proxy = bus.get_proxy_object(BUS_NAME, OBJECT_PATH, introspection)
        maintenance = proxy.get_interface(MAINTENANCE_INTERFACE)
        with pytest.raises(DBusError):
            await maintenance.call_login("135790")
        token, _seconds = await maintenance.call_login(PIN)
        await maintenance.call_logout(token)
    finally:
        await close(bus)


def test_administrative_actions_are_chained_in_the_ops_log(
    tmp_path: Path, private_bus: PrivateBus, capsys: pytest.CaptureFixture[str]
) -> None:
    pin_hash = hash_pin(PIN, iterations=1000)
    daemon = Govkioskd(
        tmp_path / "kiosk", private_bus.address, f'\n[maintenance]\npin_hash = "{pin_hash}"\n'
    )
    state = daemon.directory / "state"
    daemon.start()
    assert daemon.proc is not None
    try:
        daemon.proc.wait_ready(
            lambda: main(["--bus", private_bus.address, "items", "list"]) == 0, 10, "govkioskd"
        )
        asyncio.run(maintenance_session(private_bus.address))
        status = main(
            ["--bus", private_bus.address, "items", "apply", "marriage_record",
             "--role", "department", "--kind", "add", "--name", "婚姻登记记录证明",
             "--reason", "办件量大", "--plan", "对接民政接口", "--function", "查询打印"]
        )  # fmt: skip
        assert status == 0
        daemon.proc.popen.send_signal(signal.SIGHUP)
        wanted = [
            ("maintenance", "login_refused"),
            ("maintenance", "login"),
            ("maintenance", "logout"),
            ("item", "apply"),
            ("config", "reloaded"),
        ]
        wait_until(lambda: [(k, c) for k, c, _ in records(state)] == wanted, 10, "ops log records")
    finally:
        daemon.stop()
    rows = records(state)
    assert rows[0][2] == {"reason": "WrongPinError"}
    assert rows[3][2] == {
        "code": "marriage_record",
        "role": "department",
        "from": "",
        "to": "applied",
        "version": 1,
    }
    # Nothing about the PIN itself, not even its length.
    assert PIN not in json.dumps(rows)
    capsys.readouterr()
    assert main(["oplog", "verify", "--state-dir", str(state)]) == 0
    assert capsys.readouterr().out == "ops log intact: 5 records\n"
