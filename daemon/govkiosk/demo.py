"""``python -m govkiosk.demo`` (``make run``): the whole kiosk on one machine, nothing installed.

Starts, as children, a private ``dbus-daemon`` (its configuration generated in a
temporary directory), the device simulators listed in :data:`SIMULATORS`, the demo
department service, a site broker (``mosquitto``, :mod:`govkiosk.demo_ops`) the kiosk
takes remote commands from, ``govkioskd`` on ``config/demo.toml``, ``govkiosk-ui`` and the
promotion screen ``govkiosk-promo`` with the demo playlist (:mod:`~govkiosk.promo.demo_content`).
Without ``$DISPLAY`` the UI runs on an ``Xvfb`` screen of its own, the promotion screen on
that server's second screen (``:N.1``, portrait), and the demo writes a screenshot of the UI
a person can open; on a desktop both are windows. Ctrl-C
or SIGTERM stops every child, UI first, bus last. ``--once`` stops as soon as the
screenshot is written (for tests and CI). A UI that exits with
:data:`~govkiosk.ops.ui.RESTART_STATUS` (ops' ``ui.restart``) is started again, as its
systemd unit would; any other exit of a child stops the demo.

Everything the demo writes lives in the state directory (logs, the daemon's database,
the generated configuration), except the screenshot and the bus socket.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import os
import shutil
import signal
import socket
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from . import demo_department, demo_ops
from .config import load_config
from .contract.names import RESTART_STATUS
from .demo_ops import OpsSite
from .errors import GovkioskError
from .fleet.client import FleetClient, FleetError
from .items.catalogue import DEFAULT_CATALOGUE
from .promo.demo_content import write_demo_playlist
from .timeouts import wait_for

REPO = Path(__file__).resolve().parents[2]
DEMO_CONFIG = REPO / "config" / "demo.toml"
SITE_ACL = REPO / "packaging" / "mosquitto" / "acl"
DEFAULT_STATE_DIR = Path.home() / ".local" / "state" / "govkiosk-demo"
DEFAULT_SCREENSHOT = Path("out") / "demo.png"
SCREEN = "1280x800x24"
#: The promotion screen: the virtual server's second screen, a portrait panel.
PROMO_SCREEN = "1080x1920x24"
#: How long a child may take to get ready (the UI: to draw the daemon's status).
READY_TIMEOUT = 60.0
STOP_TIMEOUT = 5.0
POLL_INTERVAL = 0.1
EXIT_FAILED = 1
EXIT_SETUP = 2


@dataclass(frozen=True)
class Simulator:
    """A simulated device the demo starts and the daemon drives through a TCP port."""

    family: str  #: a key of ``simctl.SIMULATORS``: run as ``govkioskctl sim <family> …``
    role: str  #: a key of ``api.devices.DRIVERS``: the driver that serves it
    #: The simulator's arguments; ``{port}`` becomes the free TCP port the demo chose.
    args: Tuple[str, ...] = ()
    #: Further roles the same simulator serves, each with its port (``{port}`` as above).
    more: Tuple[Tuple[str, str], ...] = ()
    #: How the daemon reaches it for ``role``.
    address: str = "socket://127.0.0.1:{port}"

    def devices(self, port: int) -> List[Tuple[str, str]]:
        """``(role, port)`` of each device the daemon is to drive."""
        pairs = ((self.role, self.address), *self.more)
        return [(role, address.format(port=port)) for role, address in pairs]


#: The face the demo's cards carry and its face camera shows (a public test photo beside
#: the repository); without it the demo's items that verify the face are unavailable.
DEMO_FACE = REPO.parent / "shared" / "fixtures" / "faces" / "obama.jpg"
#: Items beyond Table 1 the demo publishes (a sync of the default catalogue and these).
DEMO_ITEMS = REPO / "config" / "demo-items.toml"
CAMERA = "http://127.0.0.1:{port}"
FACE_PHOTO = ("--photo", str(DEMO_FACE)) if DEMO_FACE.exists() else ()


#: The demo's simulated hardware (§6.2, §6.3, §6.1). Each is started with
#: ``govkioskctl sim <family> <args>`` — ``{port}`` becomes a free TCP port and
#: ``{state}`` the demo's state directory — and reaches the daemon as
#: ``[[devices.static]] role = "<role>", port = "socket://127.0.0.1:<port>"`` (or the
#: simulator's own address: the cameras' ``http://…``) in the generated drop-in
#: ``<state dir>/etc/conf.d/50-demo-devices.toml``.
SIMULATORS: Tuple[Simulator, ...] = (
    # A synthetic resident card lies on the reader for 15 s of every 30 s; its photo is
    # the face the camera shows.
    Simulator(
        "idcard",
        "idcard",
        ("--tcp", "127.0.0.1:{port}", "--every", "30", "--seed", "7", *FACE_PHOTO),
    ),
    # Printed slips are saved as text and PNG for a person to look at.
    Simulator(
        "receipt", "receipt_printer", ("--tcp", "127.0.0.1:{port}", "--out", "{state}/receipts")
    ),
    # Someone stands in front of the kiosk, so it does not fall back to the attract screen.
    Simulator("presence", "presence", ("--tcp", "127.0.0.1:{port}", "--script", "arrive 80")),
    Simulator(
        "qrscanner",
        "qrscanner",
        (
            "--tcp",
            "127.0.0.1:{port}",
        ),
    ),
    Simulator(
        "ups",
        "ups",
        (
            "--tcp",
            "127.0.0.1:{port}",
        ),
    ),
)
#: The cameras: the binocular face camera sees a live person; the document camera a page
#: that slides in, lies still for a while and leaves, again and again.
CAMERAS = Simulator(
    "camera",
    "face_camera_rgb",
    ("--port", "{port}", "--scenario", "live", "--face", str(DEMO_FACE)),
    more=(("face_camera_ir", CAMERA + "/ir"), ("doc_camera", CAMERA + "/doc")),
    address=CAMERA + "/rgb",
)
if DEMO_FACE.exists():
    SIMULATORS += (CAMERAS,)

BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""


class DemoError(GovkioskError):
    """The demo cannot start or a part of it stopped; the message says where to look."""


def write_bus_config(directory: Path) -> Path:
    """A private bus that anyone on this machine's user may use; returns the config file."""
    config = directory / "bus.conf"
    config.write_text(BUS_CONFIG.format(socket=directory / "bus.sock"))
    return config


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_config(state_dir: Path, devices: Sequence[Tuple[str, str]]) -> Path:
    """The daemon's configuration: ``config/demo.toml`` plus a drop-in of simulated devices."""
    etc = state_dir / "etc"
    (etc / "conf.d").mkdir(parents=True, exist_ok=True)
    main = etc / "govkiosk.toml"
    main.write_text(
        f"# Generated by govkiosk.demo from {DEMO_CONFIG}; rewritten on every run.\n\n"
        + DEMO_CONFIG.read_text(encoding="utf-8"),
        encoding="utf-8",
    )
    lines = ["# Generated by govkiosk.demo: the simulators it started (see demo.SIMULATORS)."]
    for role, port in devices:
        lines += ["", "[[devices.static]]", f'role = "{role}"', f'port = "{port}"']
    (etc / "conf.d" / "50-demo-devices.toml").write_text("\n".join(lines) + "\n")
    return main


def command(name: str) -> str:
    """A console script of this installation, else one on ``$PATH`` (or in sbin: mosquitto)."""
    beside = Path(sys.executable).parent / name
    path = os.pathsep.join((os.environ.get("PATH", os.defpath), "/usr/sbin", "/sbin"))
    found = str(beside) if beside.exists() else shutil.which(name, path=path)
    if found is None:
        raise DemoError(f"{name} not found; run `make setup` first")
    return found


class Child:
    """A started program whose output goes to a log file in the state directory."""

    def __init__(self, name: str, process: asyncio.subprocess.Process, log: Path) -> None:
        self.name = name
        self.process = process
        self.log = log

    @classmethod
    async def start(
        cls,
        name: str,
        argv: List[str],
        log: Path,
        *,
        env: Optional[Dict[str, str]] = None,
        pass_fds: Tuple[int, ...] = (),
        append: bool = False,
    ) -> Child:
        with log.open("ab" if append else "wb") as out:
            try:
                process = await asyncio.create_subprocess_exec(
                    *argv,
                    stdin=asyncio.subprocess.DEVNULL,
                    stdout=out,
                    stderr=asyncio.subprocess.STDOUT,
                    env=env,
                    pass_fds=pass_fds,
                    # Its own session: Ctrl-C reaches the demo only, which stops children
                    # in order (the UI before the daemon, the daemon before the bus).
                    start_new_session=True,
                )
            except OSError as err:
                raise DemoError(f"cannot start {name} ({argv[0]}): {err}") from err
        return cls(name, process, log)

    def check_alive(self) -> None:
        if self.process.returncode is not None:
            raise DemoError(
                f"{self.name} exited with status {self.process.returncode}; see {self.log}"
            )

    async def stop(self) -> None:
        if self.process.returncode is not None:
            return
        self.process.terminate()
        try:
            await wait_for(self.process.wait(), STOP_TIMEOUT)
        except asyncio.TimeoutError:
            self.process.kill()
            await self.process.wait()


async def read_line_from(fd: int, timeout: float, what: str) -> str:
    """The first line a child writes to ``fd`` (Xvfb's display, dbus-daemon's address)."""
    loop = asyncio.get_running_loop()
    received = bytearray()
    done: asyncio.Future[None] = loop.create_future()

    def readable() -> None:
        chunk = os.read(fd, 4096)
        received.extend(chunk)
        if (not chunk or b"\n" in received) and not done.done():
            done.set_result(None)

    loop.add_reader(fd, readable)
    try:
        await wait_for(done, timeout)
    except asyncio.TimeoutError:
        raise DemoError(f"{what}: not ready within {timeout:g} s") from None
    finally:
        loop.remove_reader(fd)
        os.close(fd)
    line = received.decode(errors="replace").strip()
    if not line:
        raise DemoError(f"{what}: exited before it was ready")
    return line


class Condition:
    """Something to wait for that fails early when a child it depends on exits."""

    def __init__(self, check: Callable[[], bool], children: Sequence[Child]) -> None:
        self._check = check
        self._children = children

    def met(self) -> bool:
        for child in self._children:
            child.check_alive()
        return self._check()


async def wait_until(condition: Condition, timeout: float, failure: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition.met():
        if loop.time() > deadline:
            raise DemoError(f"{failure} within {timeout:g} s")
        await asyncio.sleep(POLL_INTERVAL)


class Demo:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.state_dir: Path = args.state_dir.expanduser().resolve()
        self.logs = self.state_dir / "logs"
        self.screenshot: Path = args.screenshot.resolve()
        self.children: List[Child] = []
        #: How the UI was started, to start it again after ``ui.restart``.
        self._ui: Tuple[List[str], Dict[str, str]] = ([], {})
        self.xvfb = False  # whether the demo runs the UI on a virtual screen of its own
        self._stopping = asyncio.Event()
        #: The demo web app's catalogue entry (its HTTPS port is chosen at start).
        self._web_item = ""

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, self._stopping.set)
        self.logs.mkdir(parents=True, exist_ok=True)
        bus_dir = Path(tempfile.mkdtemp(prefix="govkiosk-demo-"))
        try:
            await self._start_all(bus_dir)
            await self._watch()
        except DemoError as err:
            print(f"govkiosk demo: {err}", file=sys.stderr)
            return EXIT_FAILED
        finally:
            await self._stop_all()
            shutil.rmtree(bus_dir, ignore_errors=True)
        return 0

    async def _spawn(
        self,
        name: str,
        argv: List[str],
        *,
        env: Optional[Dict[str, str]] = None,
        pass_fds: Tuple[int, ...] = (),
    ) -> Child:
        log = self.logs / f"{name}.log"
        child = await Child.start(name, argv, log, env=env, pass_fds=pass_fds)
        self.children.append(child)
        return child

    async def _start_all(self, bus_dir: Path) -> None:
        env = dict(os.environ)
        display = env.get("DISPLAY")
        if not display:
            display = await self._start_xvfb()
            env["DISPLAY"] = display
        address = await self._start_bus(bus_dir)
        devices = await self._start_simulators()
        config = write_config(self.state_dir, devices)
        await self._start_department()
        site = await self._start_ops_site(config, address)
        daemon = await self._spawn(
            "govkioskd",
            [
                command("govkioskd"),
                "--config",
                str(config),
                "--state-dir",
                str(self.state_dir),
                "--bus",
                address,
            ],
            env=dict(env),  # the kiosk browser of the web item opens on the UI's display
        )
        if self.screenshot.exists():
            self.screenshot.unlink()
        env["KIVY_HOME"] = str(self.state_dir / "kivy")
        ui = [command("govkiosk-ui"), "--bus", address, "--screenshot", str(self.screenshot)]
        if not self.xvfb:
            ui.append("--windowed")  # a developer's desktop: a window, not the whole screen
        self._ui = (ui, env)
        await self._spawn("govkiosk-ui", ui, env=env)
        await self._wait_online(site, daemon)
        await self._publish_demo_items(address)
        promo_display = await self._start_promo(address, env)
        self._report(address, config, display, site)
        print(f"  promotion:  {promo_display}", flush=True)

    async def _start_xvfb(self) -> str:
        self.xvfb = True
        read_end, write_end = os.pipe()
        try:
            await self._spawn(
                "xvfb",
                [
                    command("Xvfb"),
                    "-displayfd",
                    str(write_end),
                    "-screen",
                    "0",
                    SCREEN,
                    "-screen",
                    "1",
                    PROMO_SCREEN,
                    "-nolisten",
                    "tcp",
                ],
                pass_fds=(write_end,),
            )
        finally:
            os.close(write_end)
        number = await read_line_from(read_end, READY_TIMEOUT, "Xvfb")
        display = f":{number}"
        print(
            f"No $DISPLAY: the UI runs on a virtual screen (Xvfb {display}, {SCREEN}).\n"
            f"Open {self.screenshot} to see it.",
            flush=True,
        )
        return display

    async def _start_bus(self, bus_dir: Path) -> str:
        config = write_bus_config(bus_dir)
        read_end, write_end = os.pipe()
        try:
            await self._spawn(
                "dbus-daemon",
                [
                    command("dbus-daemon"),
                    "--nofork",
                    "--nopidfile",
                    f"--config-file={config}",
                    f"--print-address={write_end}",
                ],
                pass_fds=(write_end,),
            )
        finally:
            os.close(write_end)
        return await read_line_from(read_end, READY_TIMEOUT, "dbus-daemon")

    async def _start_department(self) -> None:
        """The demo department service, and the daemon's drop-in that reaches it."""
        port, web_port = free_port(), free_port()
        argv, dropin = demo_department.department(self.state_dir, port)
        web_args, web_dropin, self._web_item = demo_department.webapp(self.state_dir, web_port)
        child = await self._spawn("department", [*argv, *web_args])
        await wait_until(
            Condition(functools.partial(_port_open, port), [child]),
            READY_TIMEOUT,
            f"the demo department service did not listen on port {port}",
        )
        (self.state_dir / "etc" / "conf.d" / "60-demo-department.toml").write_text(dropin)
        (self.state_dir / "etc" / "conf.d" / "61-demo-webapp.toml").write_text(web_dropin)

    async def _start_ops_site(self, config: Path, bus_address: str) -> OpsSite:
        """The demo site broker, and the daemon's drop-in that links the kiosk to it."""
        site = OpsSite(self.state_dir / "ops", load_config(config).kiosk.id, free_port())
        try:
            broker_config = site.prepare(SITE_ACL)
            dropin = site.dropin(bus_address)
        except (GovkioskError, OSError) as err:
            raise DemoError(f"the demo site in {site.directory}: {err}") from err
        child = await self._spawn("mosquitto", [command("mosquitto"), "-c", str(broker_config)])
        await wait_until(
            Condition(functools.partial(_port_open, site.port), [child]),
            READY_TIMEOUT,
            f"the demo site broker did not listen on port {site.port}",
        )
        (self.state_dir / "etc" / "conf.d" / "70-demo-ops.toml").write_text(dropin)
        return site

    async def _publish_demo_items(self, address: str) -> None:
        """Table 1 and :data:`DEMO_ITEMS`, published as an office would: one ``sync``."""
        catalogue = self.state_dir / "etc" / "demo-catalogue.toml"
        catalogue.write_text(
            DEFAULT_CATALOGUE.read_text(encoding="utf-8")
            + "\n"
            + DEMO_ITEMS.read_text(encoding="utf-8")
            + self._web_item,
            encoding="utf-8",
        )
        argv = ["--bus", address, "items", "sync", str(catalogue), "--role", "office"]
        log = self.logs / "items-sync.log"
        sync = await Child.start("items-sync", [command("govkioskctl"), *argv], log)
        if await sync.process.wait() != 0:  # a one-off: not among the children kept alive
            raise DemoError(f"the demo items were not published (see {sync.log})")

    async def _start_promo(self, address: str, env: Dict[str, str]) -> str:
        """The demo playlist, loaded as an integrator would, and the promotion screen."""
        playlist = write_demo_playlist(self.state_dir / "promo-demo")
        argv = [command("govkioskctl"), "promo", "--bus", address, "load", str(playlist)]
        log = self.logs / "promo-load.log"
        load = await Child.start("promo-load", argv, log)
        if await load.process.wait() != 0:
            raise DemoError(f"the demo playlist was not loaded (see {load.log})")
        promo = [sys.executable, "-m", "govkiosk_ui.promo", "--bus", address]
        promo_env = dict(env)
        if self.xvfb:
            promo_env["DISPLAY"] = f"{env['DISPLAY']}.1"
            shown = (
                f"Xvfb screen {promo_env['DISPLAY']} ({PROMO_SCREEN}); see it with "
                f"`xwd -root -display {promo_env['DISPLAY']} -out promo.xwd`"
            )
        else:
            promo.append("--windowed")
            shown = "a window beside the UI's"
        await self._spawn("govkiosk-promo", promo, env=promo_env)
        return shown

    async def _wait_online(self, site: OpsSite, daemon: Child) -> None:
        """Until the broker says the kiosk is online: then a command sent gets an answer."""
        try:
            async with FleetClient(site.identity()) as fleet:
                await fleet.follow([site.kiosk_id])
                await wait_until(
                    Condition(lambda: fleet.view.row(site.kiosk_id).online is True, [daemon]),
                    READY_TIMEOUT,
                    f"the demo kiosk did not connect to the site broker (see {daemon.log})",
                )
        except FleetError as err:
            raise DemoError(f"the demo site broker: {err}") from err

    async def _start_simulators(self) -> List[Tuple[str, str]]:
        devices: List[Tuple[str, str]] = []
        for sim in SIMULATORS:
            port = free_port()
            args = [a.format(port=port, state=self.state_dir) for a in sim.args]
            child = await self._spawn(
                f"sim-{sim.family}", [command("govkioskctl"), "sim", sim.family, *args]
            )
            await wait_until(
                Condition(functools.partial(_port_open, port), [child]),
                READY_TIMEOUT,
                f"the {sim.family} simulator did not listen on port {port}",
            )
            devices.extend(sim.devices(port))
        return devices

    def _report(self, address: str, config: Path, display: str, site: OpsSite) -> None:
        print(
            "govkiosk demo is running\n"
            f"  D-Bus:      {address}\n"
            f"              try: govkioskctl --bus '{address}' status\n"
            f"  ops broker: {demo_ops.HOST}:{site.port} (TLS and the site ACL)\n"
            f"              files: {site.directory}/\n"
            f"              send status: {site.send_status()}\n"
            f"              watch:       {site.watch()}\n"
            f"  config:     {config} (+ conf.d/)\n"
            f"  state dir:  {self.state_dir}\n"
            f"  logs:       {self.logs}/\n"
            f"  display:    {display}{' (Xvfb)' if self.xvfb else ''}\n"
            f"  screenshot: {self.screenshot} (once the daemon's status is on screen)\n"
            + ("" if self.args.once else "Ctrl-C stops everything."),
            flush=True,
        )

    async def _watch(self) -> None:
        # Ctrl-C before the UI is up stops the demo at once.
        shown = Condition(
            lambda: self._stopping.is_set() or self.screenshot.exists(), self.children
        )
        await wait_until(shown, READY_TIMEOUT, "the UI wrote no screenshot")
        if self._stopping.is_set():
            return
        print(f"screenshot written: {self.screenshot}", flush=True)
        if self.args.once:
            return
        while not self._stopping.is_set():
            for index, child in enumerate(self.children):
                if child.name == "govkiosk-ui" and child.process.returncode == RESTART_STATUS:
                    self.children[index] = await self._restart_ui(child)
                self.children[index].check_alive()
            try:
                await wait_for(self._stopping.wait(), 1.0)
            except asyncio.TimeoutError:
                continue

    async def _restart_ui(self, old: Child) -> Child:
        argv, env = self._ui
        new = await Child.start(old.name, argv, old.log, env=env, append=True)
        print("govkiosk-ui restarted (ops: ui.restart)", flush=True)
        return new

    async def _stop_all(self) -> None:
        for child in reversed(self.children):
            await child.stop()
        if self.children:
            print("govkiosk demo stopped", flush=True)


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def parse_args(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m govkiosk.demo",
        description="run the demo kiosk: private D-Bus, daemon, simulators and UI",
    )
    parser.add_argument("--state-dir", type=Path, default=DEFAULT_STATE_DIR)
    parser.add_argument("--screenshot", type=Path, default=DEFAULT_SCREENSHOT, metavar="PATH")
    parser.add_argument(
        "--once", action="store_true", help="stop once the screenshot is written (tests, CI)"
    )
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    return asyncio.run(Demo(args).run())


if __name__ == "__main__":
    sys.exit(main())
