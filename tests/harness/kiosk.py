"""The whole kiosk in the test's process, for citizen journeys over D-Bus.

``govkioskd``'s :class:`~govkiosk.app.Daemon` serves a private bus; around it, on
loopback: the simulated ID card reader and receipt printer (TCP, as
``[[devices.static]]``), the demo department service sealing with its demo authority,
and the test's private ``cupsd`` as the A4 queue; the camera simulator (MJPEG over HTTP:
the binocular face camera shows a live person — the same person whose photo the cards
carry — and the document camera a page that slides in and settles). The UI's part is played by a
dbus-next proxy of ``cn.govkiosk.Session1``. The daemon's log goes to a file through
the same filter and format as in production, so a test can scan it.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import logging
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, AsyncIterator, Dict, List, Tuple

from dbus_next.aio import MessageBus
from dbus_next.errors import DBusError

from govkiosk.app import Daemon
from govkiosk.backends.demo_data import TEST_APPLICANT
from govkiosk.bus import Event
from govkiosk.config import load_config
from govkiosk.contract.connection import close, connect
from govkiosk.contract.logs import PersonalDataFilter, PrefixFormatter
from govkiosk.contract.names import BUS_NAME, ITEMS_INTERFACE, OBJECT_PATH, SESSION_INTERFACE
from govkiosk.devices.camera.events import CameraStateChanged
from govkiosk.devices.camera.settings import ROLES
from govkiosk.devices.camera.sim import CameraSimulator, SceneSource
from govkiosk.devices.idcard import simphoto, synthetic
from govkiosk.devices.idcard.cardtext import ResidentIdentity
from govkiosk.devices.idcard.events import CardRemoved
from govkiosk.devices.idcard.sim import SimulatedReader, SimulatedReaderProtocol
from govkiosk.devices.receipt.events import ReceiptPrinterStateChanged
from govkiosk.devices.receipt.sim import SimConnection, SimPrinter
from govkiosk.devices.simhost import serve_tcp
from govkiosk.docscan.synthetic import DocScene
from govkiosk.faceverify.service import FaceReadiness

from .camera import OBAMA, photo, scene
from .cups import CupsServer
from .dbus import PrivateBus
from .departments import KEY_ID, KioskKey, platform
from .sessionwatch import WAIT, SessionWatch

#: ``[backends]``: the demo department's published test identity (``govkioskctl check``).
TEST_IDENTITY = (
    f'test_id_number = "{TEST_APPLICANT.id_number}"\ntest_name = "{TEST_APPLICANT.name}"'
)
#: ``[face]``: the simulated reader's photos are read; a test adds its own lines after it.
SIMULATED_FACES = 'decoder = "simulated"\nallow_simulated = true'

CONFIG = """[kiosk]
id = "test-hlj-0001"
name = "测试政务服务中心 1号机"
region = "230100"
{kiosk_lines}

[daemon]
restart_initial = 0.1
restart_max = 0.5

[devices.usb]
seal = false

[idcard]
poll_interval = 0.05
sam_check_interval = 5.0

[receipt]
status_timeout = 0.5
job_timeout = 5.0
poll_interval = 0.05
idle_poll_interval = 0.5

[backends]
key_file = "{key}"
key_id = "{key_id}"
default_url = "{url}"
retry_backoff = 0.01
{backends}

[seal]
trusted = ["{ca}", "{sm2_root}"]

[session]
cups_server = "{cups}"
cups_queue = "{queue}"
print_poll_interval = 0.05
{session}

[face]
{face}

[[devices.static]]
role = "idcard"
port = "socket://127.0.0.1:{idcard_port}"

[[devices.static]]
role = "face_camera_rgb"
port = "{cameras[face_camera_rgb]}"

[[devices.static]]
role = "face_camera_ir"
port = "{cameras[face_camera_ir]}"

[[devices.static]]
role = "doc_camera"
port = "{cameras[doc_camera]}"

[[devices.static]]
role = "receipt_printer"
port = "socket://127.0.0.1:{receipt_port}"
"""


@dataclass
class Kiosk(SessionWatch):
    daemon: Daemon
    session: Any  #: the cn.govkiosk.Session1 proxy interface
    items: Any  #: the cn.govkiosk.Items1 proxy interface
    reader: SimulatedReader
    printer: SimPrinter
    cups: CupsServer
    camera: CameraSimulator  #: ``camera.control({"scenario": "photo"})`` …
    department: Any  #: the DemoDepartment (its ``misbehaviour`` switches)
    log: Path
    state_dir: Path
    changes: asyncio.Queue[Dict[str, Any]]
    events: List[Event] = field(default_factory=list)
    rng: random.Random = field(default_factory=lambda: random.Random(5))
    department_url: str = ""  #: the demo department's base URL (a test's proxy in front)

    async def card(self, born_before: int = 2100, photo: bytes = b"") -> ResidentIdentity:
        """A fresh synthetic card on the reader (the previous one taken away first, and
        its removal seen by the driver, which reads each presentation once); its photo is
        the person the camera shows, unless ``photo`` (a simulated WLT) says otherwise."""
        identity = synthetic.resident(self.rng)
        while identity.birth_date.year >= born_before:
            identity = synthetic.resident(self.rng)
        identity = dataclasses.replace(identity, photo=photo or card_photo())
        if self.reader.card is not None:
            with self.daemon.bus.stream(CardRemoved) as removed:
                self.reader.remove()
                await asyncio.wait_for(removed.get(), WAIT)
        self.reader.place(identity)
        return identity

    async def camera_frame(self, session_id: str) -> Tuple[bytes, List[float]]:
        """``GetCameraFrame``, once the step has a picture (the camera's first frame)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + WAIT
        while True:
            jpeg, outline = await self.session.call_get_camera_frame(session_id)
            if jpeg:
                return bytes(jpeg), list(outline)
            assert loop.time() < deadline, "no camera picture came"
            await asyncio.sleep(0.05)

    async def ended(self) -> Dict[str, Any]:
        """The last SessionChanged, once GetSession says there is no session."""
        last: Dict[str, Any] = {}
        loop = asyncio.get_running_loop()
        deadline = loop.time() + WAIT
        while loop.time() < deadline:
            while not self.changes.empty():
                last = self.changes.get_nowait()
            if await self.state() == {}:
                while not self.changes.empty():  # signals arrive before the reply
                    last = self.changes.get_nowait()
                if last:
                    return last
            with contextlib.suppress(asyncio.TimeoutError):
                last = await asyncio.wait_for(self.changes.get(), 0.05)
        raise AssertionError("the session did not end")


def _log_to(path: Path) -> logging.Handler:
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(PrefixFormatter(journald=False))
    handler.addFilter(PersonalDataFilter())
    handler.setLevel(logging.DEBUG)
    return handler


@contextlib.asynccontextmanager
async def kiosk(
    directory: Path,
    private_bus: PrivateBus,
    cups: CupsServer,
    session: str = "",
    face: str = SIMULATED_FACES,
    *,
    kiosk_lines: str = "",
    backends: str = TEST_IDENTITY,
    routes: str = "",
) -> AsyncIterator[Kiosk]:
    """The running kiosk; ``session`` adds lines to its ``[session]`` section, ``face`` is
    its ``[face]`` section (the simulator's card photos by default), ``kiosk_lines`` adds
    lines to its ``[kiosk]`` section, ``backends`` to its ``[backends]`` section (the
    demo department's test identity by default); ``routes`` is appended to the file with
    ``{platform}`` replaced by the demo department's URL."""
    directory.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 - test setup, before the loop's work
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
    config_path = directory / "govkiosk.toml"
    config_path.write_text(
        CONFIG.format(
            key=key.private_path,
            key_id=KEY_ID,
            url=department_platform.url,
            ca=seal_dir / "ca.pem",
            sm2_root=seal_dir / "sm2-root.pem",
            cups=cups.socket,
            queue=cups.queue,
            session=session,
            face=face,
            kiosk_lines=kiosk_lines,
            backends=backends,
            cameras=camera.urls(),
            idcard_port=idcard_server.sockets[0].getsockname()[1],
            receipt_port=receipt_server.sockets[0].getsockname()[1],
        )
        + routes.replace("{platform}", department_platform.url),
        encoding="utf-8",
    )
    state_dir = directory / "state"
    log = directory / "govkioskd.log"
    handler = _log_to(log)
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    daemon = Daemon(
        config_path, load_config(config_path), state_dir, bus_address=private_bus.address
    )
    events: List[Event] = []
    daemon.bus.subscribe(Event, events.append)
    printer_ready = _printer_ready(daemon)
    cameras_ready = _cameras_ready(daemon)
    face_known = _face_known(daemon)
    running = asyncio.ensure_future(daemon.run())
    client: MessageBus = await connect(private_bus.address)
    try:
        proxy = await _proxy(client)
        interface = proxy.get_interface(SESSION_INTERFACE)
        changes: asyncio.Queue[Dict[str, Any]] = asyncio.Queue()
        interface.on_session_changed(
            lambda state: changes.put_nowait({k: v.value for k, v in state.items()})
        )
        await asyncio.wait_for(asyncio.gather(printer_ready, cameras_ready, face_known), WAIT)
        yield Kiosk(
            daemon,
            interface,
            proxy.get_interface(ITEMS_INTERFACE),
            reader,
            printer,
            cups,
            camera,
            department_platform.department,
            log,
            state_dir,
            changes,
            events,
            department_url=department_platform.url,
        )
    finally:
        await close(client)
        daemon.request_stop()
        stopped, _ = await asyncio.wait({running}, timeout=WAIT)
        if not stopped:  # never leave a half-stopped daemon's tasks on a shared loop
            running.cancel()
            await asyncio.wait({running}, timeout=WAIT)
        idcard_server.close()
        receipt_server.close()
        await camera.stop()
        await department_platform.close()
        root.removeHandler(handler)
        root.setLevel(level)
        handler.close()


async def _proxy(client: MessageBus) -> Any:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT
    while True:
        try:
            introspection = await client.introspect(BUS_NAME, OBJECT_PATH)
            if any(i.name == SESSION_INTERFACE for i in introspection.interfaces):
                return client.get_proxy_object(BUS_NAME, OBJECT_PATH, introspection)
        except DBusError:  # the daemon is still starting
            if loop.time() > deadline:
                raise
        await asyncio.sleep(0.05)


def _cameras_ready(daemon: Daemon) -> asyncio.Future[None]:
    """Resolves once every camera role has a driver up in the daemon's hub."""
    ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    hub = daemon.devices.cameras

    def on_state(_event: CameraStateChanged) -> None:
        if all(hub.available(role) for role in ROLES) and not ready.done():
            ready.set_result(None)

    daemon.bus.subscribe(CameraStateChanged, on_state)
    return ready


def _face_known(daemon: Daemon) -> asyncio.Future[None]:
    """Resolves once the face service has said whether verification can work (its model
    loads after the daemon is ready)."""
    known: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def on_readiness(_event: FaceReadiness) -> None:
        if not known.done():
            known.set_result(None)

    daemon.bus.subscribe(FaceReadiness, on_readiness)
    return known


def _printer_ready(daemon: Daemon) -> asyncio.Future[None]:
    """Resolves once the receipt printer's driver says it is ready (it connects on its own)."""
    ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def on_state(event: ReceiptPrinterStateChanged) -> None:
        if event.state == "ready" and not ready.done():
            ready.set_result(None)

    daemon.bus.subscribe(ReceiptPrinterStateChanged, on_state)
    return ready


#: The document camera's frames in tests: smaller than a real one's, drawn faster.
DOC_SIZE = (1280, 720)
DOC_FPS = 10.0


@functools.lru_cache(maxsize=None)
def card_photo(path: Path = OBAMA) -> bytes:
    """The simulated WLT photo of the person in ``path`` (the camera's person by default)."""
    return simphoto.encode(photo(path))
