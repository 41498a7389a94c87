"""``govkioskctl fleet serve`` end to end: kiosks (a real daemon, and stand-ins in their own
processes) publish through a real mosquitto (TLS, the shipped ACL); the exporter follows
them with the read-only ``ops-metrics`` identity; its HTTP endpoint is read with the
official parser, and scraped by a real Prometheus whose query API gives the values back."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import sys
import urllib.parse
from pathlib import Path
from typing import AsyncIterator, Dict, Tuple

import aiomqtt
import pytest

from govkiosk.bus import Alarm, Severity
from govkiosk.evaluation.events import EvaluationGiven
from govkiosk.fleet.exporter import Exporter
from govkiosk.fleet.exposition import clean
from govkiosk.fleet.settings import BrokerSettings, FleetServeSettings, HttpSettings
from govkiosk.session.state import SessionEnded
from harness.dbus import PrivateBus
from harness.eventually import eventually
from harness.fleetdocs import Series, parse, state, telemetry, value
from harness.opskiosk import KIOSK, running_kiosk
from harness.opssite import Site
from harness.process import free_port
from test_fleet_files import dashboard_exprs, rule_exprs

pytestmark = pytest.mark.timeout(180)

TESTS = Path(__file__).resolve().parent
WAIT = 30.0  # a busy 2-core machine


def exporter_settings(site: Site) -> FleetServeSettings:
    identity = site.identity("ops-metrics")
    return FleetServeSettings(
        broker=BrokerSettings(
            host=identity.host,
            port=identity.port,
            ca=str(identity.ca),
            cert=str(identity.cert),
            key=str(identity.key),
            reconnect_initial=0.1,
            reconnect_max=0.5,
        ),
        http=HttpSettings(port=0),
    )


@contextlib.asynccontextmanager
async def serving(settings: FleetServeSettings) -> AsyncIterator[Exporter]:
    exporter = Exporter(settings)
    await exporter.start()
    task = asyncio.ensure_future(exporter.run())
    try:
        await asyncio.wait_for(exporter.connected.wait(), WAIT)
        yield exporter
    finally:
        task.cancel()
        await asyncio.wait([task])


async def http_get(host: str, port: int, target: str, method: str = "GET") -> Tuple[int, bytes]:
    """One request on the test's own loop (the exporter answers on the same loop)."""
    reader, writer = await asyncio.open_connection(host, port)
    request = f"{method} {target} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    writer.write(request.encode())
    await writer.drain()
    try:
        response = await asyncio.wait_for(reader.read(), WAIT)
    finally:
        writer.close()
        await writer.wait_closed()
    head, _, body = response.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), body


async def scrape(exporter: Exporter) -> Series:
    status, body = await http_get(*exporter.address, "/metrics")
    assert status == 200
    return parse(body.decode("utf-8"))


async def until(exporter: Exporter, name: str, expected: float, **labels: str) -> Series:
    """Scrape until ``name{labels}`` is ``expected``; the last scrape."""
    last: Dict[str, Series] = {}

    async def check() -> bool:
        last["series"] = await scrape(exporter)
        return last["series"].get((name, tuple(sorted(labels.items())))) == expected

    deadline = asyncio.get_running_loop().time() + WAIT
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            seen = last["series"].get((name, tuple(sorted(labels.items()))))
            raise AssertionError(f"{name}{labels}: {seen}, not {expected}, within {WAIT} s")
        await asyncio.sleep(0.05)
    return last["series"]


async def test_a_real_daemon_its_sessions_alarms_and_clean_stop(
    site: Site, private_bus: PrivateBus, tmp_path: Path
) -> None:
    async with serving(exporter_settings(site)) as exporter:
        async with running_kiosk(
            site, tmp_path / "kiosk", private_bus.address, telemetry_interval=0.2
        ) as kiosk:
            await kiosk.connected()
            bus = kiosk.daemon.bus
            bus.publish(SessionEnded("id_card_print", "done", "", 10.0))
            bus.publish(SessionEnded("id_card_print", "walked_away", "", 10.0))
            bus.publish(EvaluationGiven("id_card_print", 5, ()))
            bus.publish(Alarm("power", "on_battery", Severity.WARNING, "mains lost"))
            series = await until(
                exporter,
                "govkiosk_fleet_item_sessions",
                1,
                item="id_card_print",
                outcome="walked_away",
            )
            series = await until(exporter, "govkiosk_fleet_alarms_active", 1, severity="warning")
            assert value(series, "govkiosk_fleet_kiosks_online") == 1
            assert value(series, "govkiosk_kiosk_up", kiosk=KIOSK) == 1
            await until(
                exporter, "govkiosk_fleet_item_evaluations", 1, item="id_card_print", level="5"
            )
            await until(exporter, "govkiosk_fleet_kiosks_healthy", 1)
            bus.publish(Alarm("power", "mains_restored", Severity.INFO, "mains back"))
            await until(exporter, "govkiosk_fleet_alarms_active", 0, severity="warning")
        # A clean stop publishes the retained state offline.
        series = await until(exporter, "govkiosk_fleet_kiosks_online", 0)
        assert value(series, "govkiosk_kiosk_up", kiosk=KIOSK) == 0
        assert value(series, "govkiosk_fleet_alarms_received_total", severity="info") == 1
        assert (await http_get(*exporter.address, "/healthz"))[0] == 200


async def stand_in(site: Site, kiosk_id: str) -> asyncio.subprocess.Process:
    cert, key = site.kiosk_files(kiosk_id)
    assert site.broker.tls_port is not None
    env = {**os.environ, "PYTHONPATH": f"{TESTS}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "harness.fleetkiosk",
        site.broker.host,
        str(site.broker.tls_port),
        str(site.ca_file),
        str(cert),
        str(key),
        kiosk_id,
        stdout=asyncio.subprocess.PIPE,
        env=env,
    )
    assert process.stdout is not None
    line = await asyncio.wait_for(process.stdout.readline(), WAIT)
    assert line == b"ready\n"
    return process


async def test_last_will_drops_the_online_gauge_and_the_broker_coming_back(site: Site) -> None:
    async with serving(exporter_settings(site)) as exporter:
        kiosks = [await stand_in(site, f"hl-hrb-{n:04d}") for n in range(3)]
        try:
            series = await until(exporter, "govkiosk_fleet_kiosks_online", 3)
            await until(exporter, "govkiosk_fleet_alarms_active", 3, severity="warning")
            series = await until(
                exporter, "govkiosk_fleet_item_sessions", 12, item="id_card_print", outcome="done"
            )
            assert value(series, "govkiosk_fleet_kiosks_healthy") == 3
            kiosks[0].kill()  # power lost: no DISCONNECT, the broker publishes the Will
            await kiosks[0].wait()
            series = await until(exporter, "govkiosk_fleet_kiosks_online", 2)
            assert value(series, "govkiosk_kiosk_up", kiosk="hl-hrb-0000") == 0
            assert value(series, "govkiosk_kiosk_up", kiosk="hl-hrb-0001") == 1
            assert value(series, "govkiosk_fleet_kiosks_healthy") == 2

            # The broker goes away: /healthz says so, the numbers stay; then it is back.
            site.broker.stop()
            await eventually(lambda: not exporter.connected.is_set(), "disconnected", WAIT)
            assert (await http_get(*exporter.address, "/healthz"))[0] == 503
            series = await scrape(exporter)
            assert value(series, "govkiosk_fleet_exporter_broker_connected") == 0
            assert value(series, "govkiosk_fleet_kiosks") == 3
            site.broker.start()
            await asyncio.wait_for(exporter.connected.wait(), WAIT)
            assert (await http_get(*exporter.address, "/healthz"))[0] == 200
        finally:
            for process in kiosks:
                if process.returncode is None:
                    process.kill()
                    await process.wait()


async def test_http_answers(site: Site) -> None:
    async with serving(exporter_settings(site)) as exporter:
        host, port = exporter.address
        assert (await http_get(host, port, "/nothing"))[0] == 404
        assert (await http_get(host, port, "/metrics", "POST"))[0] == 405
        status, body = await http_get(host, port, "/metrics", "HEAD")
        assert (status, body) == (200, b"")
        reader, writer = await asyncio.open_connection(host, port)
        writer.write(b"\x00\x01 nonsense\r\n\r\n")
        assert (await reader.read()).startswith(b"HTTP/1.1 400 ")
        writer.close()
        await writer.wait_closed()


PROMETHEUS_CONFIG = """
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: govkiosk-fleet
    static_configs:
      - targets: ["{target}"]
"""


async def query(port: int, expr: str) -> list:  # type: ignore[type-arg]
    target = "/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    status, body = await http_get("127.0.0.1", port, target)
    document = json.loads(body)
    assert status == 200, document
    return list(document["data"]["result"])


async def test_a_real_prometheus_scrapes_the_exporter(site: Site, tmp_path: Path) -> None:
    binary = shutil.which("prometheus")
    assert binary, "prometheus is not installed (make system-packages installs it)"
    hostile = 'v1"\n\\' + "x" * 500
    async with serving(exporter_settings(site)) as exporter, aiomqtt.Client(
        site.broker.host, site.broker.port, identifier="publisher"
    ) as publisher:
        # Through the plain listener, as anything could: hostile strings included.
        for n in range(4):
            kiosk = f"k{n}"
            version = hostile if n == 0 else "1.4.0"
            await publisher.publish(
                f"kiosk/v1/{kiosk}/state", state(kiosk, online=n != 3, version=version), qos=1
            )
            await publisher.publish(f"kiosk/v1/{kiosk}/telemetry", telemetry(kiosk, 1.0), qos=1)
        await until(exporter, "govkiosk_fleet_kiosks", 4)
        web = free_port()
        config = tmp_path / "prometheus.yml"
        config.write_text(PROMETHEUS_CONFIG.replace("{target}", "{}:{}".format(*exporter.address)))
        log = (tmp_path / "prometheus.log").open("wb")
        process = await asyncio.create_subprocess_exec(
            binary,
            f"--config.file={config}",
            f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{web}",
            stdout=log,
            stderr=log,
        )
        try:
            results: Dict[str, list] = {}  # type: ignore[type-arg]

            async def scraped() -> bool:
                with contextlib.suppress(OSError, ValueError, KeyError):
                    results["up"] = await query(web, 'up{job="govkiosk-fleet"}')
                return bool(results.get("up")) and results["up"][0]["value"][1] == "1"

            deadline = asyncio.get_running_loop().time() + 60
            while not await scraped():
                assert asyncio.get_running_loop().time() < deadline, (
                    results,
                    (tmp_path / "prometheus.log").read_text()[-3000:],
                )
                assert process.returncode is None, (tmp_path / "prometheus.log").read_text()
                await asyncio.sleep(0.2)
            online = await query(web, "govkiosk_fleet_kiosks_online")
            assert online[0]["value"][1] == "3"
            versions = await query(web, "govkiosk_fleet_kiosks_by_version")
            by_version = {r["metric"]["version"]: r["value"][1] for r in versions}
            assert by_version == {"1.4.0": "3", clean(hostile, 64): "1"}
            up = await query(web, "govkiosk_kiosk_up == 0")
            assert [r["metric"]["kiosk"] for r in up] == ["k3"]
            # Every query the dashboard and the rules make is valid PromQL for this Prometheus.
            for expr in dashboard_exprs() + rule_exprs():
                await query(web, expr)
            offline = await query(web, "govkiosk_kiosk_up == 0")
            assert offline
        finally:
            process.terminate()
            await process.wait()
            log.close()


def config_file(site: Site, directory: Path) -> Path:
    """A metrics.toml as ops write it: TLS file names relative to the file."""
    identity = site.identity("ops-metrics")
    directory.mkdir(parents=True, exist_ok=True)
    for source, name in (
        (identity.ca, "ca.crt"),
        (identity.cert, "m.crt"),
        (identity.key, "m.key"),
    ):
        shutil.copyfile(source, directory / name)
    path = directory / "metrics.toml"
    path.write_text(
        f'[broker]\nhost = "{identity.host}"\nport = {identity.port}\n'
        'ca = "ca.crt"\ncert = "m.crt"\nkey = "m.key"\nreconnect_initial = 0.1\n'
        "[http]\nport = 0\n"
    )
    return path


async def test_the_command_serves_and_stops_on_sigterm(site: Site, tmp_path: Path) -> None:
    path = config_file(site, tmp_path / "etc")
    command = [sys.executable, "-m", "govkiosk.cli.main", "fleet", "serve", "--config", str(path)]
    checked = await asyncio.create_subprocess_exec(
        *command, "--check", stdout=asyncio.subprocess.PIPE
    )
    assert (await checked.communicate())[0] == f"{path}: ok\n".encode()
    process = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    try:
        assert process.stdout is not None
        line = (await asyncio.wait_for(process.stdout.readline(), WAIT)).decode()
        assert line.startswith("serving http://127.0.0.1:"), line
        port = int(line.rsplit(":", 1)[1].split("/")[0])
        deadline = asyncio.get_running_loop().time() + WAIT
        while (await http_get("127.0.0.1", port, "/healthz"))[0] != 200:
            assert asyncio.get_running_loop().time() < deadline, "never subscribed"
            await asyncio.sleep(0.05)
        status, body = await http_get("127.0.0.1", port, "/metrics")
        assert status == 200
        assert value(parse(body.decode()), "govkiosk_fleet_exporter_broker_connected") == 1
        process.terminate()
        assert await asyncio.wait_for(process.wait(), WAIT) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    # A file with a mistake: the command names it and exits non-zero.
    path.write_text('[limits]\nitems_max = "many"\n')
    broken = await asyncio.create_subprocess_exec(*command, stderr=asyncio.subprocess.PIPE)
    _out, err = await broken.communicate()
    assert broken.returncode == 1
    assert f"{path}: limits.items_max: expected an integer >= 1" in err.decode()


async def test_5000_kiosks_through_the_broker_get_no_kiosk_label(site: Site) -> None:
    """The cap with a fleet's worth of retained states and telemetry on a real broker."""
    kiosks = 5000
    items = {"id_card_print": {"sessions": {"done": 2}, "evaluations": {"4": 1}}}
    async with serving(exporter_settings(site)) as exporter, aiomqtt.Client(
        site.broker.host, site.broker.port, identifier="fleet-sim", max_inflight_messages=1000
    ) as publisher:
        for n in range(kiosks):
            kiosk = f"sim-{n:05d}"
            await publisher.publish(
                f"kiosk/v1/{kiosk}/state", state(kiosk, online=n % 4 != 0), qos=1, retain=True
            )
            await publisher.publish(
                f"kiosk/v1/{kiosk}/telemetry", telemetry(kiosk, 1.0, items=items), qos=1
            )
        series = await until(
            exporter,
            "govkiosk_fleet_item_sessions",
            2 * kiosks,
            item="id_card_print",
            outcome="done",
        )
        assert value(series, "govkiosk_fleet_kiosks") == kiosks
        assert value(series, "govkiosk_fleet_kiosks_online") == kiosks * 3 // 4
        assert value(series, "govkiosk_fleet_exporter_kiosk_labels") == 0
        assert all("kiosk" not in dict(labels) for _name, labels in series)
        assert len(series) < 200
