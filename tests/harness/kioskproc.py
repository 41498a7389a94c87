"""The whole kiosk with the real ``govkioskd`` as a child process, for fault tests that
kill it (SIGKILL, a power cut) and start it again.

The same parts as :mod:`harness.kiosk` — the simulated ID card reader and receipt
printer on loopback TCP, the camera simulator, the demo department (a real HTTP server
whose answers a test can hold back with ``department.misbehaviour.delay``), the test's
private ``cupsd`` — but the daemon runs as ``govkioskd`` with its own state directory
and log, and the test talks to it as the UI does, over D-Bus.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import random
import signal
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, AsyncIterator, Dict, Optional

from dbus_next.aio import MessageBus
from dbus_next.errors import DBusError

from govkiosk.contract.connection import close, connect
from govkiosk.contract.names import BUS_NAME, OBJECT_PATH, SESSION_INTERFACE
from govkiosk.devices.camera.sim import CameraSimulator, SceneSource
from govkiosk.devices.idcard import synthetic
from govkiosk.devices.idcard.cardtext import ResidentIdentity
from govkiosk.devices.idcard.sim import SimulatedReader, SimulatedReaderProtocol
from govkiosk.devices.receipt.sim import SimConnection, SimPrinter
from govkiosk.devices.simhost import serve_tcp
from govkiosk.docscan.synthetic import DocScene

from .camera import scene
from .cups import CupsServer
from .dbus import PrivateBus
from .departments import KEY_ID, KioskKey, platform
from .govkioskd import Govkioskd
from .kiosk import CONFIG, DOC_FPS, DOC_SIZE, SIMULATED_FACES, TEST_IDENTITY, WAIT, card_photo
from .sessionwatch import SessionWatch


@dataclass
class KioskProcess(SessionWatch):
    daemon: Govkioskd
    reader: SimulatedReader
    printer: SimPrinter
    cups: CupsServer
    department: Any  #: the DemoDepartment (its ``misbehaviour`` switches)
    bus_address: str
    session: Any = None  #: the cn.govkiosk.Session1 proxy interface of the current run
    client: Optional[MessageBus] = None
    changes: asyncio.Queue[Dict[str, Any]] = field(default_factory=asyncio.Queue)
    rng: random.Random = field(default_factory=lambda: random.Random(11))

    @property
    def state_dir(self) -> Path:
        return self.daemon.directory / "state"

    def log(self) -> str:
        """Every run's log, in order."""
        runs = sorted(self.daemon.directory.glob("govkioskd-*.log"))
        return "".join(p.read_text(encoding="utf-8", errors="replace") for p in runs)

    async def start(self) -> None:
        """Start ``govkioskd`` and wait until it serves sessions with the card item ready."""
        self.daemon.start(dict(os.environ))
        self.client = await connect(self.bus_address)
        self.changes = asyncio.Queue()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + WAIT
        while True:
            assert self.daemon.proc is not None
            assert self.daemon.proc.alive(), self.daemon.proc.output()
            with contextlib.suppress(DBusError):
                introspection = await self.client.introspect(BUS_NAME, OBJECT_PATH)
                if any(i.name == SESSION_INTERFACE for i in introspection.interfaces):
                    proxy = self.client.get_proxy_object(BUS_NAME, OBJECT_PATH, introspection)
                    self.session = proxy.get_interface(SESSION_INTERFACE)
                    rows = await self.session.call_list_items()
                    if any(
                        r["code"].value == "id_card_print" and r["available"].value for r in rows
                    ):
                        break
            assert loop.time() < deadline, "govkioskd did not come up"
            await asyncio.sleep(0.05)
        self.session.on_session_changed(
            lambda state: self.changes.put_nowait({k: v.value for k, v in state.items()})
        )

    async def kill(self) -> None:
        """SIGKILL: no handler runs, nothing is cleaned up."""
        assert self.daemon.proc is not None
        self.daemon.proc.popen.send_signal(signal.SIGKILL)
        self.daemon.proc.popen.wait()
        self.daemon.stop()  # closes its log
        if self.client is not None:
            await close(self.client)
            self.client = None

    async def stop(self) -> None:
        if self.client is not None:
            await close(self.client)
            self.client = None
        self.daemon.stop()

    def card(self) -> ResidentIdentity:
        """A fresh synthetic card, carrying the camera's person's photo, on the reader."""
        identity = dataclasses.replace(synthetic.resident(self.rng), photo=card_photo())
        self.reader.place(identity)
        return identity


@contextlib.asynccontextmanager
async def kiosk_process(
    directory: Path, private_bus: PrivateBus, cups: CupsServer, session: str = ""
) -> AsyncIterator[KioskProcess]:
    """The parts around the daemon, running; the daemon is not started yet."""
    directory.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 - test setup
    key = KioskKey(directory)
    seal_dir = directory / "seal"
    department_platform = await platform(seal_dir, key)
    reader, printer = SimulatedReader(), SimPrinter()
    idcard_server = await serve_tcp(lambda: SimulatedReaderProtocol(reader), "127.0.0.1", 0)
    receipt_server = await serve_tcp(lambda: SimConnection(printer), "127.0.0.1", 0)
    camera = CameraSimulator(
        SceneSource(scene("live"), seed=3),
        DocScene(7, DOC_SIZE, arrive=0.5, slide=0.5, leave=None, fps=DOC_FPS),
        doc_fps=DOC_FPS,
    )
    await camera.start()
    daemon = Govkioskd(directory, private_bus.address)
    daemon.config.write_text(
        CONFIG.format(
            key=key.private_path,
            key_id=KEY_ID,
            url=department_platform.url,
            ca=seal_dir / "ca.pem",
            sm2_root=seal_dir / "sm2-root.pem",
            cups=cups.socket,
            queue=cups.queue,
            session=session,
            face=SIMULATED_FACES,
            kiosk_lines="",
            backends=TEST_IDENTITY,
            cameras=camera.urls(),
            idcard_port=idcard_server.sockets[0].getsockname()[1],
            receipt_port=receipt_server.sockets[0].getsockname()[1],
        ),
        encoding="utf-8",
    )
    kiosk = KioskProcess(
        daemon, reader, printer, cups, department_platform.department, private_bus.address
    )
    try:
        yield kiosk
    finally:
        await kiosk.stop()
        idcard_server.close()
        receipt_server.close()
        await camera.stop()
        await department_platform.close()
