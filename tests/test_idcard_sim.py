"""``govkioskctl sim idcard``: a person at a terminal places cards for a real driver."""

from __future__ import annotations

import asyncio
import random
import sys
from pathlib import Path
from typing import List

from govkiosk.bus import Event, EventBus
from govkiosk.devices.idcard.cardtext import CardKind
from govkiosk.devices.idcard.driver import IdCardReader
from govkiosk.devices.idcard.events import CardRemoved, IdentityRead
from govkiosk.devices.idcard.settings import IdCardSettings
from govkiosk.devices.idcard.sim import Console, SimulatedReader
from govkiosk.devices.spec import DeviceSpec
from harness.process import free_port

FAST = IdCardSettings(poll_interval=0.01, sam_check_interval=0.5, exchange_timeout=1.0)


def test_console_commands_change_the_reader() -> None:
    reader = SimulatedReader()
    console = Console(reader, "resident", random.Random(1))
    assert console.execute("\n") == "placed a synthetic resident card"
    assert reader.card is not None
    assert reader.card.kind is CardKind.RESIDENT
    assert console.execute("") == "card taken away"
    assert reader.card is None
    assert console.execute("y").endswith("foreign2023 card")
    assert reader.card.kind is CardKind.FOREIGN_2023
    assert console.execute("s 60") == "SAM status is now 60"
    assert reader.sam_status == 0x60
    assert console.execute("e zz").startswith("cannot do")
    assert "commands" in console.execute("?")


async def test_govkioskctl_sim_idcard_serves_a_driver_over_tcp() -> None:
    port = free_port()
    ctl = Path(sys.executable).with_name("govkioskctl")
    proc = await asyncio.create_subprocess_exec(
        *[str(ctl), "sim", "idcard", "--tcp", f"127.0.0.1:{port}", "--seed", "3"],
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    assert proc.stdin is not None
    assert proc.stdout is not None
    try:
        first = await asyncio.wait_for(proc.stdout.readline(), 10)
        assert f"listening on socket://127.0.0.1:{port}" in first.decode()
        bus = EventBus()
        seen: List[Event] = []
        arrived = asyncio.Event()

        def on_event(event: Event) -> None:
            seen.append(event)
            arrived.set()

        bus.subscribe(Event, on_event, personal=True)
        spec = DeviceSpec("idcard@cli", "idcard", f"socket://127.0.0.1:{port}")
        driver = IdCardReader(spec, bus, lambda: FAST)
        await driver.start()
        task = asyncio.ensure_future(driver.serve())
        try:
            for line, wanted in ((b"j\n", IdentityRead), (b"x\n", CardRemoved)):
                proc.stdin.write(line)
                await proc.stdin.drain()
                while not any(isinstance(e, wanted) for e in seen):
                    arrived.clear()
                    await asyncio.wait_for(arrived.wait(), 10)
            read = next(e for e in seen if isinstance(e, IdentityRead))
            assert read.kind is CardKind.RESIDENCE_PERMIT
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await driver.stop()
        proc.stdin.write(b"q\n")
        await proc.stdin.drain()
        output = (await asyncio.wait_for(proc.stdout.read(), 10)).decode()
        assert await asyncio.wait_for(proc.wait(), 10) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert "placed a synthetic permit card" in output
    assert "served 1 reads" in output
