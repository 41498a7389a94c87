"""``govkioskctl check``: the installation sequence of §6.4.2 as stages an engineer runs on site.

Four stages, in order: ``network`` (DNS, default route, clock, every department route and
the ops broker with their TLS certificates), ``deployment`` (versions, package integrity,
configuration, services), ``devices`` (every configured role present with its driver
running, camera snapshots, the UPS reading and its quick battery test, a card read only
with ``--card-test``, a test receipt and an A4 test page only with ``--print-test``)
and ``items`` (the item debugging checklist 事项调试检查表: every published item run end
to end in test mode by the daemon against its real department route — the platform's
published test identity fetched, its seal verified, its pages rendered — or, where the
platform publishes no test identity, its health call; printed only with
``--print-items``). Each check passes, fails or is skipped, with a detail and,
when it fails, the fix in plain words. The result is the acceptance report
(:mod:`.acceptance`), handed to the daemon afterwards, which sends it to ops
(``evt/acceptance``).

Nothing a citizen gave is touched: camera frames are looked at for their presence and
dropped; the card read reports "read, fields present, photo decoded" and never a value,
and the daemon refuses it (as the A4 test page) while a session runs; nothing is printed
unless asked; an item's test specimen stays in the daemon's memory and only its
reference, page count and seal issuer come back.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import datetime
import importlib.metadata
import json
import math
import os
import re
import socket
import ssl
import subprocess
import sys
import time
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple
from urllib.parse import urlsplit

import aiohttp
from dbus_next import DBusError
from dbus_next.aio import MessageBus
from dbus_next.errors import AuthError, InvalidAddressError

from .. import __version__
from ..config import DEFAULT_PATH, Config, load_config
from ..contract.connection import close, connect, plain
from ..contract.logs import printable_lines
from ..contract.names import (
    BUS_NAME,
    CAMERAS_INTERFACE,
    CHECKS_INTERFACE,
    KIOSK_BUSY_ERROR,
    KIOSK_INTERFACE,
    MAINTENANCE_INTERFACE,
    OBJECT_PATH,
    POWER_INTERFACE,
    RECEIPT_INTERFACE,
    SESSION_INTERFACE,
)
from ..store import DEFAULT_STATE_DIR
from ..tables import ConfigError
from ..timeouts import wait_for
from . import acceptance
from .acceptance import Check

PASS, FAIL, SKIP = "pass", "fail", "skip"
STAGES = ("network", "deployment", "devices", "items")
EXIT_FAILED = 1
#: A clock further off than this breaks TLS and the department platforms' signatures.
MAX_CLOCK_OFFSET = 5.0
#: A certificate that expires sooner than this is reported in its detail.
CERT_WARN_DAYS = 30
PACKAGE = "govkiosk"


@dataclass
class Options:
    config: Path = DEFAULT_PATH
    state_dir: Path = DEFAULT_STATE_DIR
    bus: str = "system"
    stages: Tuple[str, ...] = STAGES
    print_test: bool = False
    #: print each item's test certificate (A4 and receipt), the operator confirming it
    print_items: bool = False
    operator: str = ""
    out: Optional[Path] = None
    timeout: float = 5.0
    #: asked on a TTY after the test receipt and the A4 test page: did it come out right?
    confirm: Optional[Callable[[str], bool]] = None
    #: read a card the engineer places (``--card-test``)
    card_test: bool = False
    card_timeout: float = 60.0
    #: run the UPS's quick battery test (on by default; ``--no-ups-test``)
    ups_test: bool = True
    #: tells the engineer what to do now (place the card); stderr by default
    say: Callable[[str], None] = lambda text: print(text, file=sys.stderr, flush=True)


@dataclass
class _Context:
    options: Options
    config: Optional[Config]
    bus: Optional[MessageBus]
    proxy: Any = None
    info: Dict[str, Any] = field(default_factory=dict)

    def interface(self, name: str) -> Any:
        return None if self.proxy is None else self.proxy.get_interface(name)


# -- network ---------------------------------------------------------------------------


def _route_urls(config: Config) -> List[str]:
    urls = [config.backends.default_url] if config.backends.default_url else []
    urls += [r.url for r in config.backends.routes]
    return list(dict.fromkeys(urls))


def _hosts(config: Config) -> List[str]:
    hosts = [urlsplit(u).hostname or "" for u in _route_urls(config)]
    if config.ops.host:
        hosts.append(config.ops.host)
    return [h for h in dict.fromkeys(hosts) if h]


async def _dns(host: str, timeout: float) -> Check:
    loop = asyncio.get_running_loop()
    try:
        infos = await wait_for(loop.getaddrinfo(host, None, type=socket.SOCK_STREAM), timeout)
    except (OSError, asyncio.TimeoutError) as err:
        return Check(
            "network",
            f"DNS {host}",
            FAIL,
            f"{host} does not resolve: {err or 'timed out'}",
            f"check the DNS servers (/etc/resolv.conf) and that the hall network lets {host} "
            "be resolved; or ask the network administrator to add it",
        )
    addresses = sorted({str(i[4][0]) for i in infos})
    return Check("network", f"DNS {host}", PASS, ", ".join(addresses))


def default_gateway(table: str) -> Optional[Tuple[str, str]]:
    """(gateway, interface) of the default route in ``/proc/net/route``'s text, or None."""
    for line in table.splitlines()[1:]:
        fields = line.split()
        if (
            len(fields) > 2
            and fields[1] == "00000000"
            and re.fullmatch(r"[0-9A-Fa-f]{8}", fields[2])
        ):
            return socket.inet_ntoa(bytes.fromhex(fields[2])[::-1]), fields[0]
    return None


def _default_route(path: Path = Path("/proc/net/route")) -> Check:
    name = "default route"
    try:
        table = path.read_text(encoding="ascii", errors="replace")
    except OSError as err:
        return Check("network", name, SKIP, f"cannot read {path}: {err.strerror}")
    found = default_gateway(table)
    if found is not None:
        return Check("network", name, PASS, f"via {found[0]} on {found[1]}")
    return Check(
        "network",
        name,
        FAIL,
        "no default route",
        "set the gateway of the kiosk's network connection (nmcli connection modify … "
        "ipv4.gateway …) as the hall network plan says",
    )


def _run(argv: Sequence[str], timeout: float) -> Optional[subprocess.CompletedProcess[str]]:
    """The finished command, or None when it cannot run."""
    try:
        return subprocess.run(
            list(argv), capture_output=True, text=True, timeout=timeout, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None


def _clock_from_system(timeout: float) -> Optional[Check]:
    name = "clock (NTP)"
    done = _run(["timedatectl", "show", "-p", "NTPSynchronized", "--value"], timeout)
    if done is not None and done.returncode == 0:
        if done.stdout.strip() == "yes":
            return Check("network", name, PASS, "systemd-timesyncd/chrony: synchronised")
        return Check(
            "network",
            name,
            FAIL,
            "the system clock is not synchronised by NTP",
            "set the hall's NTP server (timedatectl set-ntp true; NTP= in "
            "/etc/systemd/timesyncd.conf or a server line in chrony.conf)",
        )
    done = _run(["chronyc", "-c", "tracking"], timeout)
    if done is not None and done.returncode == 0:
        offset = chrony_offset(done.stdout)
        return None if offset is None else _offset_check(offset, "chrony")
    return None


def chrony_offset(tracking: str) -> Optional[float]:
    """The system clock's offset in seconds (absolute) from ``chronyc -c tracking``'s CSV
    (its fifth field), or None when the text is not that."""
    fields = tracking.strip().split(",")
    try:
        offset = abs(float(fields[4]))
    except (IndexError, ValueError):
        return None
    return offset if math.isfinite(offset) else None


def _offset_check(offset: float, source: str) -> Check:
    name = "clock (NTP)"
    detail = f"offset {offset:.1f} s ({source})"
    if offset <= MAX_CLOCK_OFFSET:
        return Check("network", name, PASS, detail)
    return Check(
        "network",
        name,
        FAIL,
        detail,
        "the clock is wrong: set the hall's NTP server and enable time synchronisation "
        "(timedatectl set-ntp true)",
    )


async def _clock(context: _Context) -> Check:
    timeout = context.options.timeout
    found = await asyncio.get_running_loop().run_in_executor(None, _clock_from_system, timeout)
    if found is not None:
        return found
    assert context.config is not None
    for url in _route_urls(context.config):
        try:
            async with aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=timeout)
            ) as http, http.get(url) as answer:
                date = answer.headers.get("Date")
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError):
            continue
        if date:
            then = parsedate_to_datetime(date).timestamp()
            # the Date header has whole seconds: up to one second is rounding
            offset = max(0.0, abs(time.time() - then) - 1.0)
            return _offset_check(offset, f"Date header of {urlsplit(url).netloc}")
    return Check(
        "network",
        "clock (NTP)",
        SKIP,
        "neither timedatectl nor chrony answers, and no department platform sent a Date",
    )


def _peer(
    host: str, port: int, tls: Optional[ssl.SSLContext], timeout: float
) -> Optional[Dict[str, Any]]:
    """Connect; with ``tls`` the verified peer certificate."""
    with socket.create_connection((host, port), timeout=timeout) as raw:
        if tls is None:
            return None
        with tls.wrap_socket(raw, server_hostname=host) as wrapped:
            return wrapped.getpeercert()


async def _reach(
    name: str, address: Tuple[str, int], tls: Optional[ssl.SSLContext], timeout: float, fix: str
) -> Check:
    host, port = address
    loop = asyncio.get_running_loop()
    try:
        cert = await loop.run_in_executor(None, _peer, host, port, tls, timeout)
    except ssl.SSLError as err:
        return Check(
            "network",
            name,
            FAIL,
            f"TLS to {host}:{port} failed: {err.reason or err}",
            "the server's certificate is not trusted, expired or for another name: "
            "ask its owner for a valid certificate, or install the issuing CA",
        )
    except OSError as err:
        return Check("network", name, FAIL, f"{host}:{port} cannot be reached: {err}", fix)
    if cert is None:
        return Check("network", name, PASS, f"{host}:{port} answers (plain TCP, no TLS)")
    expires = datetime.datetime.fromtimestamp(
        ssl.cert_time_to_seconds(str(cert["notAfter"])), datetime.timezone.utc
    )
    days = (expires - datetime.datetime.now(datetime.timezone.utc)).days
    detail = f"{host}:{port} TLS ok, certificate expires {expires:%Y-%m-%d} ({days} days left)"
    if days < CERT_WARN_DAYS:
        detail += "; renew it soon"
    return Check("network", name, PASS, detail)


async def network(context: _Context) -> List[Check]:
    config = context.config
    if config is None:
        return [Check("network", "configuration", SKIP, "the configuration cannot be read")]
    timeout = context.options.timeout
    checks = list(await asyncio.gather(*(_dns(h, timeout) for h in _hosts(config))))
    checks.append(_default_route())
    checks.append(await _clock(context))
    for url in _route_urls(config):
        parts = urlsplit(url)
        secure = parts.scheme == "https"
        port = parts.port or (443 if secure else 80)
        checks.append(
            await _reach(
                f"backend {parts.netloc}",
                (parts.hostname or "", port),
                ssl.create_default_context() if secure else None,
                timeout,
                f"the department platform at {url} does not answer: check the url in "
                "[backends], the hall firewall, and ask the department whether it is up",
            )
        )
    if config.ops.host:
        checks.append(await _ops_broker(config, timeout))
    else:
        checks.append(Check("network", "ops broker", SKIP, "[ops] host is not set"))
    return checks


async def _ops_broker(config: Config, timeout: float) -> Check:
    ops = config.ops
    tls: Optional[ssl.SSLContext] = None
    if ops.ca:
        try:
            tls = ssl.create_default_context(cafile=ops.ca)
            if ops.cert and ops.key:
                tls.load_cert_chain(ops.cert, ops.key)
        except (OSError, ssl.SSLError) as err:
            return Check(
                "network",
                "ops broker",
                FAIL,
                f"the ops TLS files cannot be loaded: {err}",
                "check [ops] ca, cert and key: the files must exist and be readable",
            )
    return await _reach(
        "ops broker",
        (ops.host, ops.port),
        tls,
        timeout,
        f"the ops broker {ops.host}:{ops.port} does not answer: check [ops] host and port "
        "and that the hall firewall lets the kiosk reach it",
    )


# -- deployment ------------------------------------------------------------------------


def _installed(timeout: float) -> Tuple[str, str]:
    """(package manager, version) of the installed package; ("", "") when not installed."""
    done = _run(["dpkg-query", "-W", "-f", "${Status}\t${Version}", PACKAGE], timeout)
    if done is not None and done.returncode == 0 and "installed" in done.stdout:
        return "dpkg", done.stdout.split("\t")[-1].strip()
    done = _run(["rpm", "-q", "--qf", "%{VERSION}-%{RELEASE}", PACKAGE], timeout)
    if done is not None and done.returncode == 0:
        return "rpm", done.stdout.strip()
    return "", ""


def _python_version() -> str:
    try:
        return importlib.metadata.version(PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        return __version__


def _integrity(manager: str, timeout: float) -> Check:
    name = "file integrity"
    if not manager:
        return Check("deployment", name, SKIP, f"{PACKAGE} is not installed as a package")
    argv = ["dpkg", "--verify", PACKAGE] if manager == "dpkg" else ["rpm", "-V", PACKAGE]
    done = _run(argv, timeout * 6)
    if done is None:
        return Check("deployment", name, SKIP, f"{argv[0]} cannot run")
    changed = [line for line in done.stdout.splitlines() if line.strip()]
    if not changed and done.returncode == 0:
        return Check("deployment", name, PASS, f"every file matches ({' '.join(argv)})")
    return Check(
        "deployment",
        name,
        FAIL,
        "; ".join(changed[:5]) or f"{' '.join(argv)} exited with {done.returncode}",
        f"files differ from the package: reinstall it ({manager} reinstall of {PACKAGE}) "
        "and find out who changed them",
    )


async def deployment(context: _Context) -> List[Check]:
    options = context.options
    loop = asyncio.get_running_loop()
    manager, version = await loop.run_in_executor(None, _installed, options.timeout)
    running = str(context.info.get("version", ""))
    installed = version or _python_version()
    source = f"{manager} package" if manager else "python package"
    checks = []
    if running and running != installed.split("-")[0]:
        checks.append(
            Check(
                "deployment",
                "version",
                FAIL,
                f"installed {installed} ({source}), the daemon runs {running}",
                "restart govkioskd so that it runs the installed version",
            )
        )
    else:
        checks.append(Check("deployment", "version", PASS, f"{installed} ({source})"))
    checks.append(await loop.run_in_executor(None, _integrity, manager, options.timeout))
    try:
        load_config(options.config)
        checks.append(Check("deployment", "configuration", PASS, f"{options.config} is valid"))
    except ConfigError as err:
        checks.append(
            Check(
                "deployment",
                "configuration",
                FAIL,
                str(err),
                "correct the named key; govkioskd --check-config says when it is right",
            )
        )
    kiosk = context.interface(KIOSK_INTERFACE)
    if kiosk is None:
        checks.append(_no_daemon("deployment", "services"))
        return checks
    services = await kiosk.call_get_services()
    down = [f"{s[0]} {s[1]}{': ' + s[2] if s[2] else ''}" for s in services if s[1] != "running"]
    if down:
        checks.append(
            Check(
                "deployment",
                "services",
                FAIL,
                "; ".join(down),
                "see `govkioskctl status` and the journal (journalctl -u govkioskd) for why",
            )
        )
    else:
        checks.append(Check("deployment", "services", PASS, f"{len(services)} running"))
    return checks


def _no_daemon(stage: str, name: str) -> Check:
    return Check(
        stage,
        name,
        FAIL,
        "the daemon does not answer on D-Bus",
        "start it: systemctl start govkioskd; see journalctl -u govkioskd",
    )


# -- devices ---------------------------------------------------------------------------


async def devices(context: _Context) -> List[Check]:
    kiosk = context.interface(KIOSK_INTERFACE)
    config = context.config
    if kiosk is None or config is None:
        return [_no_daemon("devices", "devices")]
    rows: List[Dict[str, Any]] = plain(await kiosk.call_list_devices())
    checks = []
    for device in config.devices.static:
        name = f"{device.role}"
        present = [r for r in rows if r.get("role") == device.role]
        if not present:
            checks.append(
                Check(
                    "devices",
                    name,
                    FAIL,
                    f"configured at {device.port} but the daemon does not list it",
                    f"check the [[devices.static]] entry for {device.role} and restart govkioskd",
                )
            )
            continue
        row = present[0]
        driver = str(row.get("driver", ""))
        if driver.startswith("running"):
            checks.append(Check("devices", name, PASS, f"{row.get('port', '')}: {driver}"))
        else:
            checks.append(
                Check(
                    "devices",
                    name,
                    FAIL,
                    f"{row.get('port', '')}: driver {driver or 'none'} ({row.get('state', '')})",
                    f"check that the {device.role} is powered and connected at "
                    f"{row.get('port', '')} and that the port in [[devices.static]] is right",
                )
            )
    checks += await _cameras(context)
    checks.append(await _ups(context, rows))
    checks.append(await _ups_self_test(context, rows))
    checks.append(await _card_read(context))
    checks.append(await _print_test(context))
    checks.append(await _a4_test(context))
    return checks


async def _ups_self_test(context: _Context, rows: List[Dict[str, Any]]) -> Check:
    name = "UPS self-test"
    if not any(r.get("role") == "ups" for r in rows):
        return Check("devices", name, SKIP, "no UPS in the port map")
    if not context.options.ups_test:
        return Check("devices", name, SKIP, "not asked (--no-ups-test)")
    power = context.interface(POWER_INTERFACE)
    try:
        device, outcome, text = await power.call_run_self_test()
    except DBusError as err:
        return Check(
            "devices",
            name,
            FAIL,
            err.text,
            "for a UPS on NUT set [ups] user and password_file to an upsd.users account with "
            "'instcmds = test.battery.start.quick'; otherwise check the UPS's data cable",
        )
    detail = f"{device}: {outcome}: {text}"
    if outcome == "passed":
        return Check("devices", name, PASS, detail)
    fixes = {
        "failed": "the battery failed its test: replace the UPS battery (or have the UPS "
        "serviced) and run the check again",
        "unknown": "the UPS took the test but did not report its outcome: read it on the UPS's "
        "panel or with upsc, and note it in the report",
        "error": "the test could not run: follow the detail; on NUT the account needs "
        "instcmds and the UPS's driver must offer test.battery.start.quick",
    }
    return Check("devices", name, FAIL, detail, fixes.get(outcome, fixes["error"]))


#: A4 printer problems (``printing.reasons`` codes) and what the engineer does about them.
A4_FIXES = {
    "printer.paper_out": "load A4 paper into the tray, then resume the queue: cupsenable {queue}",
    "printer.jam": "open the printer, clear the paper jam, then cupsenable {queue}",
    "printer.cover_open": "close the printer's cover, then cupsenable {queue}",
    "printer.toner_out": "replace the toner cartridge, then cupsenable {queue}",
    "printer.offline": "switch the A4 printer on and check its cable, then cupsenable {queue}",
    "printer.not_accepting": "let the queue take jobs again: cupsaccept {queue}",
    "printer.unavailable": "check that CUPS runs and has the queue {queue} (lpstat -p {queue}) "
    "and [session] cups_queue / cups_server",
}


async def _a4_test(context: _Context) -> Check:
    name = "A4 test page"
    if not context.options.print_test:
        return Check("devices", name, SKIP, "not asked (--print-test)")
    checker = context.interface(CHECKS_INTERFACE)
    try:
        queue, outcome, code, message = await checker.call_print_test_page()
    except DBusError as err:
        return Check(
            "devices",
            name,
            FAIL,
            err.text,
            "wait until no citizen is served, check the A4 printer and CUPS, then run the "
            "check again",
        )
    if outcome != "printed":
        fix = A4_FIXES.get(code, "see lpstat -p {queue} and CUPS's error log, fix the printer")
        return Check(
            "devices",
            name,
            FAIL,
            f"{queue}: {code}: {message}",
            fix.format(queue=queue) + "; then run the check again",
        )
    confirm = context.options.confirm
    question = (
        "Did the A4 test page print clearly: the grey scale in eleven distinct steps, the "
        "frame and the corner marks whole and square? [y/N] "
    )
    if confirm is not None and not confirm(question):
        return Check(
            "devices",
            name,
            FAIL,
            f"{queue}: printed, the operator saw a fault",
            "streaks or faint steps: replace the toner or clean the drum; a cut frame or "
            "skewed marks: adjust the tray's paper guides and the printer's margins",
        )
    seen = "confirmed by the operator" if confirm is not None else "not looked at"
    return Check("devices", name, PASS, f"{queue}: printed ({seen})")


async def _card_read(context: _Context) -> Check:
    name = "card read"
    options = context.options
    if not options.card_test:
        return Check("devices", name, SKIP, "not asked (--card-test)")
    checker = context.interface(CHECKS_INTERFACE)
    options.say(
        f"Place an ID card (your own or a test card) on the reader within "
        f"{options.card_timeout:g} s; take it off and place it again if it lies there."
    )
    try:
        passed, device, photo, detail = await checker.call_read_test_card(options.card_timeout)
    except DBusError as err:
        if err.type.endswith(".NoCardReader"):
            fix = (
                "connect the ID card reader and check its [[devices.static]] port (role idcard); "
                "see govkioskctl devices"
            )
        elif err.type.endswith(".CardNotRead"):
            fix = (
                "lay the card flat on the reader's marked area and run the check again; if no "
                "card reads, the reader's SAM module needs service"
            )
        else:
            fix = "wait until no citizen is served, then run the check again"
        return Check("devices", name, FAIL, err.text, fix)
    if passed:
        return Check("devices", name, PASS, f"{device}: {detail}")
    if photo in ("undecodable", "blank"):
        fix = (
            "the photo does not decode: check [face] decoder (the reader vendor's library and "
            "its symbol); try another card"
        )
    else:
        fix = (
            "the card gave incomplete data: try another card; if every card fails, have the "
            "reader serviced"
        )
    return Check("devices", name, FAIL, f"{device}: {detail}", fix)


async def _cameras(context: _Context) -> List[Check]:
    cameras = context.interface(CAMERAS_INTERFACE)
    if cameras is None:
        return []
    checks = []
    for row in plain(await cameras.call_list_cameras()):
        role = str(row.get("role", ""))
        name = f"camera snapshot {role}"
        try:
            frame = await cameras.call_snapshot(role)
        except DBusError as err:
            checks.append(
                Check(
                    "devices",
                    name,
                    FAIL,
                    err.text,
                    f"check the {role} camera's cable and its [[devices.static]] port",
                )
            )
            continue
        good = bytes(frame[:2]) == b"\xff\xd8"
        del frame  # a frame may show a person: looked at, never kept (§8 d)
        if good:
            checks.append(Check("devices", name, PASS, "a picture came"))
        else:
            checks.append(
                Check(
                    "devices",
                    name,
                    FAIL,
                    "no picture",
                    f"check the {role} camera's cable and its [[devices.static]] port",
                )
            )
    return checks


async def _ups(context: _Context, rows: List[Dict[str, Any]]) -> Check:
    if not any(r.get("role") == "ups" for r in rows):
        return Check("devices", "UPS reading", SKIP, "no UPS in the port map")
    power = context.interface(POWER_INTERFACE)
    state = plain(await power.call_get_state())
    if state:  # empty until the driver has read the UPS once
        device = state.pop("device_id", "")
        shown = ", ".join(f"{k}={v}" for k, v in sorted(state.items()) if not isinstance(v, list))
        return Check("devices", "UPS reading", PASS, f"{device}: {shown}")
    return Check(
        "devices",
        "UPS reading",
        FAIL,
        "the UPS gives no reading",
        "check the UPS's data cable and [ups] settings",
    )


async def _print_test(context: _Context) -> Check:
    name = "test receipt"
    if not context.options.print_test:
        return Check("devices", name, SKIP, "not asked (--print-test)")
    receipt = context.interface(RECEIPT_INTERFACE)
    try:
        job, outcome, reason = await receipt.call_print_test()
    except DBusError as err:
        return Check(
            "devices",
            name,
            FAIL,
            err.text,
            "load receipt paper, close the cover and check the printer's cable, then run "
            "the check again",
        )
    if outcome != "printed":
        return Check(
            "devices",
            name,
            FAIL,
            f"job {job}: {outcome} {reason}".strip(),
            "load receipt paper, close the cover and check the printer, then run the check again",
        )
    confirm = context.options.confirm
    if confirm is not None and not confirm("Did the test receipt print clearly and cut? [y/N] "):
        return Check(
            "devices",
            name,
            FAIL,
            f"job {job} printed, the operator saw a fault",
            "clean the print head, check the paper roll's side and the cutter",
        )
    seen = "confirmed by the operator" if confirm is not None else "not looked at"
    return Check("devices", name, PASS, f"job {job} printed ({seen})")


# -- items (事项调试检查表) --------------------------------------------------------------

#: What each test mode exercised, as the checklist says it.
EXERCISED = {"full": "fetch+seal+preview", "health": "health only", "none": "not tested"}
_DOWN_FIX = (
    "the department platform for {code} is down or unreachable: check the route's url in "
    "[backends], the hall firewall, and ask the department"
)
#: Where an item's test failed → the fix.
_ITEM_FIXES = {
    "route": "add a [[backends.routes]] entry for the item or set [backends] default_url",
    "fetch": _DOWN_FIX,
    "health": "the department platform's health call for {code} failed: check the route's "
    "health_url and url in [backends], the hall firewall, and ask the department",
    "seal": "the test certificate's seal did not verify: check that [seal] trusted holds the "
    "department's seal certificate, and ask the department",
    "preview": "the test certificate could not be rendered for the preview: check that "
    "poppler-utils (pdftoppm) is installed",
    "print_a4": "the A4 printer did not print the test certificate: load paper, check the "
    "printer and its CUPS queue, then run the check again",
    "print_receipt": "the receipt printer did not print the test slip: load receipt paper, "
    "close the cover, then run the check again",
}
_REFUSED_FIX = (
    "the department refused the test request: check the route's test_id_number and "
    "test_name in [backends] against the test identity the department published, and ask "
    "the department whether its test mode is enabled for this kiosk"
)
_UNAUTHORISED_FIX = (
    "the department did not accept this kiosk's signature: enrol the kiosk's public key "
    "with the department under the route's key_id ([backends] key_id)"
)
_NONE_FIX = (
    "ask the department for a test identity or a health URL, and set test_id_number + "
    "test_name or health_url on the item's route in [backends]"
)


def _fix_for(answer: Dict[str, Any], code: str) -> str:
    where, error = str(answer.get("failed_at", "")), str(answer.get("error_code", ""))
    if where == "fetch" and error == "backend.refused":
        detail = str(answer.get("detail", ""))
        return _UNAUTHORISED_FIX if detail.endswith("(unauthorised)") else _REFUSED_FIX
    if where == "fetch" and error == "backend.key":
        return (
            "the kiosk's signing key cannot be used: check [backends] key_file (govkioskctl "
            "keys) and that the daemon's user can read it"
        )
    if where == "fetch" and error == "backend.protocol":
        return (
            f"the department platform's answer for {code} was not understood: ask the "
            "department whether its test mode follows the kiosk protocol"
        )
    return _ITEM_FIXES.get(where, _DOWN_FIX).format(code=code)


def _seconds(value: Any) -> str:
    try:
        return f"{float(value):.1f} s"
    except (TypeError, ValueError, OverflowError):
        return "? s"


def item_check(name: str, answer: Dict[str, Any]) -> Check:
    """The checklist's row for one item from ``Session1.RunItemTest``'s answer."""
    code = str(answer.get("code", ""))
    mode = str(answer.get("mode", ""))
    route = str(answer.get("route", ""))
    reference = str(answer.get("reference", ""))
    exercised = EXERCISED.get(mode, mode)
    took = _seconds(answer.get("duration", 0.0))
    if mode == "none" and not answer.get("failed_at"):
        return Check(
            "items",
            name,
            SKIP,
            f"{exercised}: route {route} has neither a test identity nor a health URL",
            _NONE_FIX,
            mode=mode,
        )
    if not answer.get("passed"):
        return Check(
            "items",
            name,
            FAIL,
            f"{exercised} failed at {answer.get('failed_at', '')}: {answer.get('detail', '')}"
            + (f" (route {route})" if route else ""),
            _fix_for(answer, code),
            mode=mode,
            reference=reference,
        )
    if mode == "health":
        return Check(
            "items",
            name,
            PASS,
            f"{exercised}: route {route} health call answered HTTP "
            f"{answer.get('health_status', '')} in {took} (the item itself was not run: "
            "no test identity)",
            mode=mode,
        )
    issuer = str(answer.get("seal_issuer", ""))
    pages = answer.get("pages", 0)
    detail = (
        f"{exercised}: route {route}, reference {reference}, {pages} page"
        f"{'' if pages == 1 else 's'}, seal verified ({issuer}), {took}"
    )
    if answer.get("printed"):
        detail += ", test certificate printed"
    return Check("items", name, PASS, detail, mode=mode, reference=reference)


async def _item(context: _Context, session: Any, code: str, name: str) -> Check:
    asked = context.options.print_items
    try:
        answer = plain(await session.call_run_item_test(code, asked))
    except DBusError as err:
        if err.type == KIOSK_BUSY_ERROR:
            return Check(
                "items",
                name,
                FAIL,
                err.text,
                "a citizen is being served: wait until the kiosk is free, then run the "
                "check again (or put it out of service first)",
            )
        return Check(
            "items",
            name,
            FAIL,
            f"the item's test could not run: {err.text}",
            "see journalctl -u govkioskd, then run the check again",
        )
    check = item_check(name, answer)
    confirm = context.options.confirm
    if check.status == PASS and answer.get("printed") and confirm is not None:
        question = f"Did the test certificate of {code} (A4 and receipt) print clearly? [y/N] "
        if not confirm(question):
            return dataclasses.replace(
                check,
                status=FAIL,
                detail=check.detail + "; the operator saw a fault in the print",
                fix="check the A4 printer's toner and paper and the receipt printer's head "
                "and cutter, then run the check again",
            )
        check = dataclasses.replace(check, detail=check.detail + " (confirmed by the operator)")
    return check


async def items(context: _Context) -> List[Check]:
    """Every published item end to end in test mode by the daemon (``Session1.RunItemTest``):
    with the platform's test identity (fetch, seal, preview), else its health call; printed
    only with ``--print-items``."""
    session = context.interface(SESSION_INTERFACE)
    if session is None:  # the daemon tests with the configuration it runs
        return [_no_daemon("items", "items")]
    checks = []
    for row in plain(await session.call_list_items()):
        code = str(row.get("code", ""))
        name = f"{code} {row.get('name', '')}".strip()
        if row.get("kind") == "webapp":  # its page, as the kiosk browser loads it
            checks.append(await webapp_item_check(row, name))
            continue
        checks.append(await _item(context, session, code, name))
    return checks


async def webapp_item_check(row: Dict[str, Any], name: str) -> Check:
    """A web-app item's page (``govkioskctl webapp check``), with its allow-list."""
    from .webapp import check as check_page  # noqa: PLC0415

    url = str(row.get("webapp_url", ""))
    findings = await check_page(url, list(row.get("webapp_origins", [])), None, 15.0)
    failed = [f for f in findings if f.verdict == "FAIL"]
    detail = "; ".join(f"{f.check}: {f.detail}" for f in failed) or f"page {url} checked"
    fix = f"run govkioskctl webapp check {url} and see docs/webapps.md" if failed else ""
    return Check("items", name, FAIL if failed else PASS, detail, fix, mode="webapp")


RUNNERS = {"network": network, "deployment": deployment, "devices": devices, "items": items}


# -- the command -----------------------------------------------------------------------


async def run_checks(options: Options) -> Tuple[Dict[str, Any], List[Check]]:
    """The daemon's GetInfo (empty without it) and every check of the chosen stages."""
    try:
        config: Optional[Config] = load_config(options.config)
    except ConfigError:
        config = None  # reported by the deployment stage
    bus: Optional[MessageBus] = None
    try:
        bus = await connect(options.bus)
    except (OSError, ValueError, AuthError, InvalidAddressError):
        bus = None
    context = _Context(options, config, bus)
    try:
        if bus is not None:
            try:
                introspection = await bus.introspect(BUS_NAME, OBJECT_PATH)
                context.proxy = bus.get_proxy_object(BUS_NAME, OBJECT_PATH, introspection)
                context.info = plain(
                    await context.proxy.get_interface(KIOSK_INTERFACE).call_get_info()
                )
            except DBusError:
                context.proxy = None
        if not context.info and config is not None:  # the report still names the kiosk
            kiosk = config.kiosk
            context.info = {"kiosk_id": kiosk.id, "name": kiosk.name, "hall": kiosk.hall}
        checks: List[Check] = []
        for stage in options.stages:
            try:
                checks += await RUNNERS[stage](context)
            except DBusError as err:  # the daemon stopped or failed in the middle
                checks.append(
                    Check(
                        stage,
                        "daemon",
                        FAIL,
                        f"the daemon failed to answer: {err.text}",
                        "see journalctl -u govkioskd, then run the check again",
                    )
                )
        return context.info, checks
    finally:
        if bus is not None:
            await close(bus)


def summary(checks: Sequence[Check]) -> str:
    """The checks as an engineer reads them: stage by stage, the fix under each failure."""
    lines = []
    stage = ""
    for check in checks:
        if check.stage != stage:
            stage = check.stage
            lines.append(f"[{stage}]")
        lines.append(f"  {check.status.upper():4}  {check.name}: {check.detail}")
        if check.fix:
            lines.append(f"        fix: {check.fix}")
    failed = sum(1 for c in checks if c.status == FAIL)
    lines.append("result: " + ("PASS" if not failed else f"FAIL ({failed} checks failed)"))
    # Details quote answers from the network and the devices: shown, never obeyed.
    return printable_lines("\n".join(lines))


def add_parser(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = commands.add_parser(
        "check", help="the §6.4.2 installation check; writes the signed acceptance report"
    )
    parser.add_argument("--config", type=Path, default=DEFAULT_PATH, help="main configuration file")
    parser.add_argument("--state-dir", type=Path, default=DEFAULT_STATE_DIR)
    parser.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS, help="print the report as JSON"
    )
    parser.add_argument("--out", type=Path, help="also copy the report here")
    parser.add_argument(
        "--stage", action="append", choices=STAGES, help="run only this stage (repeatable)"
    )
    parser.add_argument(
        "--print-test",
        action="store_true",
        help="print a test receipt and an A4 test page (operator confirms each)",
    )
    parser.add_argument(
        "--card-test",
        action="store_true",
        help="read an ID card the engineer places (only 'read OK' is reported)",
    )
    parser.add_argument(
        "--card-timeout", type=float, default=60.0, help="seconds to wait for the card"
    )
    parser.add_argument(
        "--no-ups-test",
        dest="ups_test",
        action="store_false",
        help="skip the UPS's quick battery test",
    )
    parser.add_argument(
        "--print-items",
        action="store_true",
        help="print each item's test certificate and slip (operator confirms)",
    )
    parser.add_argument("--operator", default="", help="who runs the check (in the report)")


def _ask(question: str) -> bool:
    print(question, end="", flush=True)
    return sys.stdin.readline().strip().lower() in ("y", "yes", "是")


def run(args: argparse.Namespace) -> int:
    options = Options(
        config=args.config,
        state_dir=args.state_dir,
        bus=args.bus,
        stages=tuple(args.stage or STAGES),
        print_test=args.print_test,
        print_items=args.print_items,
        operator=args.operator or os.environ.get("SUDO_USER") or os.environ.get("USER", ""),
        out=args.out,
        confirm=_ask if sys.stdin.isatty() and (args.print_test or args.print_items) else None,
        card_test=args.card_test,
        card_timeout=args.card_timeout,
        ups_test=args.ups_test,
    )
    info, checks = asyncio.run(run_checks(options))
    now = datetime.datetime.now(datetime.timezone.utc)
    report = acceptance.build(info, checks, options.stages, options.operator, now)
    written = acceptance.keep(report, options.state_dir, options.config, options.out)
    handed = asyncio.run(submit(options.bus, written, options.timeout))
    if getattr(args, "json", False):
        print(json.dumps(report, ensure_ascii=False, indent=2))
        print(printable_lines(handed), file=sys.stderr)
    else:
        print(summary(checks))
        for path in written:
            print(f"written: {path}")
        print(printable_lines(handed))
    return EXIT_FAILED if report["result"] == FAIL else 0


async def submit(bus_address: str, written: Sequence[Path], timeout: float) -> str:
    """Hand the signed report to the daemon, which keeps it and sends it to ops
    (``Maintenance1.SubmitAcceptance``); what became of it, in words."""
    report = next((p for p in written if p.suffix == ".json"), None)
    signature_file = next((p for p in written if p.suffix == ".sig"), None)
    if report is None or signature_file is None:
        return "not sent to ops: no report was written"
    signature = json.loads(signature_file.read_text(encoding="utf-8"))
    value = signature.get("signatures", {}).get(report.name)
    if not value:
        return f"not sent to ops: the report is unsigned ({signature.get('unsigned', '')})"
    try:
        bus = await connect(bus_address)
    except (OSError, ValueError, AuthError, InvalidAddressError) as err:
        return f"not sent to ops: D-Bus: {err}"
    try:
        introspection = await wait_for(bus.introspect(BUS_NAME, OBJECT_PATH), timeout)
        proxy = bus.get_proxy_object(BUS_NAME, OBJECT_PATH, introspection)
        maintenance = proxy.get_interface(MAINTENANCE_INTERFACE)
        kept = await wait_for(
            maintenance.call_submit_acceptance(
                report.name, report.read_text(encoding="utf-8"), value
            ),
            timeout * 4,
        )
    except DBusError as err:
        return f"not sent to ops: the daemon refused it: {err.text}"
    except asyncio.TimeoutError:
        return "not sent to ops: the daemon did not answer"
    finally:
        await close(bus)
    return f"handed to the daemon for ops (evt/acceptance; kept as {kept})"
