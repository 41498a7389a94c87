"""``govkioskd``: the kiosk daemon's entry point.

Loads the configuration, starts the supervised services, tells systemd when it is
ready and that it is alive, reloads on SIGHUP and stops cleanly on SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from pathlib import Path
from typing import Any, Callable, Coroutine, List, Optional, Sequence, Set, Tuple

# lazyimports first: it defers OpenCV, NumPy and aiohttp before any feature imports them.
from . import __version__, lazyimports, readiness
from .api import (
    camera,
    checks,
    idcard,
    items,
    maintenance,
    ops,
    power,
    presence,
    promo,
    qrscanner,
    receipt,
    session,
    upkeep,
    webapps,
)
from .api.devices import DeviceLayer
from .api.kiosk import KioskInterface
from .backup.snapshot import restore_database
from .bus import Alarm, ConfigReloaded, EventBus, ServiceHealthChanged, Severity
from .config import (
    DEFAULT_PATH,
    Config,
    config_files,
    config_warnings,
    load_config,
    machine_problems,
)
from .contract.connection import Backoff
from .contract.logs import set_level, setup_logging
from .dbus.service import DBusService
from .evaluation.store import UsageStore
from .items.registry import ItemRegistry
from .runtime import Runtime
from .sdnotify import Notifier
from .store import DEFAULT_STATE_DIR, Store
from .supervisor import Supervisor
from .tables import ConfigError

_LOGGER = logging.getLogger(__name__)

EXIT_CONFIG = 2
#: The state database broke under the running daemon (systemd's ``Restart=`` restarts it).
EXIT_STORE_DAMAGED = 3

#: Each bus face adds its services and D-Bus interfaces to the runtime, in this order.
DEVICE_FACES: Tuple[Callable[[Runtime], None], ...] = (
    presence.install,
    qrscanner.install,
    receipt.install,
    idcard.install,
    power.install,
    maintenance.install,
    promo.install,
)
#: These are also handed the item catalogue (§7.1); the session, installed after them, the
#: cameras too.
CATALOGUE_FACES: Tuple[Callable[[Runtime, ItemRegistry], None], ...] = (
    items.install,
    ops.install,
)


class Daemon:
    """The running daemon: its configuration, event bus, store and services."""

    def __init__(
        self,
        config_path: Path,
        config: Config,
        state_dir: Path,
        *,
        bus_address: Optional[str] = None,
        notifier: Optional[Notifier] = None,
    ) -> None:
        self.config_path = config_path
        self.notifier = notifier or Notifier()
        bus = EventBus()
        supervisor = Supervisor(
            bus,
            Backoff(config.daemon.restart_initial, config.daemon.restart_max),
            stop_timeout=config.daemon.stop_timeout,
        )
        self.runtime = Runtime(
            config=config,
            state_dir=state_dir,
            bus=bus,
            store=Store(state_dir),
            supervisor=supervisor,
            dbus=DBusService(bus_address or config.daemon.bus),
            config_path=config_path,
        )
        self.runtime.reload = self.reload
        # A damaged database is replaced by the latest backup's (with its key), if any.
        self.runtime.store.restore = lambda target: restore_database(
            self.runtime.config.backup, target
        )
        self.runtime.store.on_damage = self._on_store_damage
        self.runtime.store.on_full = self._on_store_full
        self.runtime.exit = self.request_exit
        self._exit_status = 0
        self.bus = bus
        self.supervisor = supervisor
        self.devices = DeviceLayer(self.runtime)
        self.kiosk_interface = KioskInterface(
            self.runtime.kiosk_id,
            lambda: self.runtime.config.kiosk,
            supervisor,
            bus,
            devices=self.devices.dbus_rows,
            statistics=UsageStore(self.runtime.store).rows,
        )
        self.runtime.dbus.export(self.kiosk_interface)
        supervisor.add(self.runtime.dbus)
        self.cameras_interface = camera.install(self.runtime, self.devices.cameras)
        for install in DEVICE_FACES:
            install(self.runtime)
        catalogue = ItemRegistry(self.runtime.store, bus)
        for install_with_catalogue in CATALOGUE_FACES:
            install_with_catalogue(self.runtime, catalogue)
        #: Web-app items' host (its bridge and browser); the session runs their pages.
        self.webapps = webapps.install(self.runtime)
        sessions = session.install(
            self.runtime, catalogue, self.devices.cameras, webapps=self.webapps
        )
        # §8 d: no snapshot of a camera while a citizen may be in front of it.
        self.cameras_interface.busy = lambda: bool(sessions.state())
        # The engineers' device checks (A4 test page, card read): never during a session.
        checks.install(self.runtime, lambda: bool(sessions.state()))
        # The daily self-test waits for no citizen being served.
        upkeep.install(self.runtime, self.devices, lambda: bool(sessions.state()))
        self._stopping = asyncio.Event()
        self._tasks: Set[asyncio.Task[None]] = set()
        #: The STATUS= last sent; None until READY=1.
        self._status_sent: Optional[str] = None

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, self.request_stop)
        loop.add_signal_handler(signal.SIGINT, self.request_stop)
        loop.add_signal_handler(signal.SIGHUP, self.reload)
        await self.runtime.store.open()
        unsubscribe = self.bus.subscribe(ServiceHealthChanged, self._on_health)
        try:
            await self.supervisor.start_all()
            if self.runtime.store.recovery:  # after the start: every listener is there
                self.bus.publish(
                    Alarm(
                        "store", "database_damaged", Severity.WARNING, self.runtime.store.recovery
                    )
                )
            self._status_sent = self.supervisor.summary()
            self.notifier.notify("READY=1", "STATUS=" + self._status_sent)
            _LOGGER.info("govkioskd %s ready: %s", __version__, self.supervisor.summary())
            if self.notifier.watchdog_interval:
                self._spawn(self._watchdog(self.notifier.watchdog_interval))
            await self._stopping.wait()
        finally:
            self.notifier.notify("STOPPING=1", "STATUS=stopping")
            _LOGGER.info("stopping")
            unsubscribe()
            for task in self._tasks:
                task.cancel()
            # No more signals: the bus connection goes down with the other services.
            self.kiosk_interface.close()
            self.cameras_interface.close()
            self.devices.interface.close()
            await self.supervisor.stop_all()
            await self.devices.close()
            await self.runtime.store.close()
            self.notifier.close()
        return self._exit_status

    def request_stop(self) -> None:
        self._stopping.set()

    def request_exit(self, status: int) -> None:
        """Stop, then exit with ``status``: non-zero, and ``Restart=on-failure`` restarts us."""
        self._exit_status = status
        self._stopping.set()

    def reload(self) -> bool:
        """SIGHUP: take a new configuration only if it is valid as a whole."""
        try:
            config = load_config(self.config_path)
        except ConfigError as err:
            # An expected outcome, not a bug: the reasons, without a traceback.
            _LOGGER.error("configuration not reloaded, keeping the one in force:\n%s", err)  # noqa: TRY400
            return False
        if config.kiosk.id != self.runtime.kiosk_id:
            _LOGGER.error(
                "configuration not reloaded: kiosk.id changed from %r to %r; the kiosk's "
                "identity changes only with a restart",
                self.runtime.kiosk_id,
                config.kiosk.id,
            )
            return False
        self.runtime.config = config
        set_level(config.daemon.log_level)
        files = tuple(str(p) for p in config_files(self.config_path))
        self.bus.publish(ConfigReloaded(files))
        _LOGGER.info("configuration reloaded from %s", ", ".join(files))
        return True

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _on_store_damage(self, problem: str) -> None:
        """The database broke while running: alarm, then exit for systemd to restart us;
        the next start moves the file aside and restores or rebuilds it."""
        self.bus.publish(
            Alarm(
                "store",
                "database_damaged",
                Severity.CRITICAL,
                f"the state database is damaged ({problem}); restarting to recover it",
            )
        )
        self.request_exit(EXIT_STORE_DAMAGED)

    def _on_store_full(self, full: bool) -> None:
        """The state directory's disk is full (or writable again): sessions go on, what
        they would record waits in memory (bounded), ops hear it."""
        path = self.runtime.store.path.parent
        if full:
            alarm = Alarm(
                "store",
                "state_disk_full",
                Severity.CRITICAL,
                f"no space left for the state database in {path}: sessions go on, but"
                " usage counts and logs wait in memory until space returns",
            )
        else:
            alarm = Alarm("store", "state_disk_ok", Severity.INFO, f"{path}: writable again")
        self.bus.publish(alarm)

    def _on_health(self, _event: ServiceHealthChanged) -> None:
        # Before READY=1 (which carries the status) and when the text did not change,
        # nothing is sent: a start makes dozens of health changes, and a full notify
        # queue is what could delay READY=1.
        status = self.supervisor.summary()
        if self._status_sent is None or status == self._status_sent:
            return
        self._status_sent = status
        self.notifier.notify("STATUS=" + status)

    async def _watchdog(self, interval: float) -> None:
        # Runs on the event loop, so a blocked loop stops the pings and systemd acts.
        while True:
            self.notifier.notify("WATCHDOG=1")
            await asyncio.sleep(interval)


def parse_args(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="govkioskd", description="the govkiosk kiosk daemon")
    parser.add_argument("--config", type=Path, default=DEFAULT_PATH, help="main configuration file")
    parser.add_argument("--state-dir", type=Path, default=DEFAULT_STATE_DIR)
    parser.add_argument("--bus", help='D-Bus to serve on: "system", "session" or an address')
    parser.add_argument(
        "--check-config", action="store_true", help="validate the configuration and exit"
    )
    parser.add_argument("--version", action="version", version=f"govkioskd {__version__}")
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    _LOGGER.debug("imported on first use: %s", ", ".join(lazyimports.DEFERRED))
    try:
        config = load_config(args.config)
    except ConfigError as err:
        print(f"govkioskd: invalid configuration:\n{err}", file=sys.stderr)
        return EXIT_CONFIG
    if args.check_config:
        missing = machine_problems(config)
        if missing:
            print("govkioskd: this machine lacks:\n" + "\n".join(missing), file=sys.stderr)
            return EXIT_CONFIG
        files = ", ".join(str(p) for p in config_files(args.config))
        print(f"configuration is valid: {files}")
        for warning in config_warnings(config):
            print(f"warning: {warning}")
        for note in readiness.notes(config):
            print(f"note: {note}")
        return 0
    setup_logging(config.daemon.log_level)
    for warning in config_warnings(config):
        _LOGGER.warning("%s", warning)
    return asyncio.run(_serve(args, config))


async def _serve(args: argparse.Namespace, config: Config) -> int:
    # Built inside the running loop: on Python 3.8 asyncio primitives bind to the
    # loop current at construction.
    return await Daemon(args.config, config, args.state_dir, bus_address=args.bus).run()
