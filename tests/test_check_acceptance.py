"""``govkioskctl check`` against the whole kiosk (harness.kiosk: the daemon on a private
bus, the simulated reader and receipt printer, the cameras, the demo department service):
every stage passes on a healthy kiosk and the signed report (JSON + Chinese PDF) is kept;
a department route down, the receipt printer out of paper and a port-map role whose
device does not answer each fail their stage and name the fix."""

from __future__ import annotations

import asyncio
import base64
import json
import socket
from pathlib import Path
from typing import List, Sequence

from govkiosk.backends.signing import load_private_key
from govkiosk.cli.check import FAIL, PASS, SKIP, STAGES, Check, Options, run_checks
from govkiosk.config import load_config
from govkiosk.devices.receipt.events import ReceiptPrinterStateChanged
from harness.cups import CupsServer
from harness.dbus import PrivateBus
from harness.govkioskd import BIN
from harness.kiosk import SIMULATED_FACES, TEST_IDENTITY, Kiosk, kiosk

CTL = BIN / "govkioskctl"
WAIT = 60.0


def options(k: Kiosk, bus: PrivateBus, *, print_test: bool = False) -> Options:
    return Options(
        config=k.daemon.config_path,
        state_dir=k.state_dir,
        bus=bus.address,
        operator="张工",
        print_test=print_test,
    )


def failed(checks: Sequence[Check], stage: str) -> List[Check]:
    return [c for c in checks if c.stage == stage and c.status == FAIL]


def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_a_healthy_kiosk_passes_every_stage_and_keeps_a_signed_report(
    tmp_path: Path, private_bus: PrivateBus, cupsd: CupsServer
) -> None:
    out = tmp_path / "handed-over"
    async with kiosk(tmp_path / "kiosk", private_bus, cupsd) as k:
        config = k.daemon.config_path
        ctl = await asyncio.create_subprocess_exec(
            str(CTL), "--bus", private_bus.address,
            "check", "--json", "--config", str(config), "--state-dir", str(k.state_dir),
            "--operator", "张工", "--print-test", "--out", str(out),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            stdin=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        stdout, stderr = await asyncio.wait_for(ctl.communicate(), WAIT)
        printed = len(k.printer.receipts)
    assert ctl.returncode == 0, stdout.decode() + stderr.decode()
    report = json.loads(stdout)
    assert report["result"] == "pass"
    assert [s["stage"] for s in report["stages"]] == list(STAGES)
    assert {s["status"] for s in report["stages"]} == {"pass"}
    assert report["kiosk_id"] == "test-hlj-0001"
    assert report["operator"] == "张工"
    assert report["versions"]["daemon"]
    checks = {(c["stage"], c["name"]): c for c in report["checks"]}
    assert {c["status"] for c in checks.values()} <= {PASS, SKIP}
    for role in ("idcard", "receipt_printer", "face_camera_rgb", "face_camera_ir", "doc_camera"):
        assert checks[("devices", role)]["status"] == PASS
    for role in ("face_camera_rgb", "face_camera_ir", "doc_camera"):
        assert checks[("devices", f"camera snapshot {role}")]["status"] == PASS
    assert checks[("devices", "test receipt")]["status"] == PASS
    assert printed == 1  # the test receipt, and nothing else
    assert checks[("deployment", "services")]["status"] == PASS
    assert checks[("deployment", "configuration")]["status"] == PASS
    assert checks[("network", "clock (NTP)")]["status"] == PASS
    items = [c for c in report["checks"] if c["stage"] == "items"]
    assert len(items) == 7
    assert all(c["status"] == PASS for c in items)

    # kept under the state dir and handed over: JSON, PDF and the detached signature
    reports = k.state_dir / "reports"
    kept = sorted(p.name for p in reports.iterdir())
    assert [Path(n).suffix for n in kept] == [".json", ".pdf", ".sig"]
    assert sorted(p.name for p in out.iterdir()) == kept
    signature = json.loads((reports / kept[2]).read_text(encoding="utf-8"))
    assert signature["alg"] == "ed25519"
    assert report["signed_by"] == {"alg": "ed25519", "key_id": signature["key_id"]}
    key = load_private_key(Path(load_config(config).backends.key_file)).public_key()
    for name in kept[:2]:
        key.verify(base64.b64decode(signature["signatures"][name]), (reports / name).read_bytes())
    assert json.loads((reports / kept[0]).read_text(encoding="utf-8")) == report
    pdf = (reports / kept[1]).read_bytes()
    assert pdf.startswith(b"%PDF")
    pdftotext = await asyncio.create_subprocess_exec(
        "pdftotext", "-layout", "-", "-",
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    text = (await asyncio.wait_for(pdftotext.communicate(pdf), WAIT))[0].decode("utf-8")
    assert "政务服务一体机验收报告" in text
    assert "事项调试检查表" in text
    assert "test-hlj-0001" in text
    assert "张工" in text
    assert "签名" in text
    assert "household_register_print" in text


async def test_a_department_route_down_fails_network_and_its_items_naming_the_fix(
    tmp_path: Path, private_bus: PrivateBus, cupsd: CupsServer
) -> None:
    down = f"http://127.0.0.1:{closed_port()}/api"
    # the route's platform publishes the test identity: the item's test reaches for it
    route = f'\n[[backends.routes]]\nitem = "id_card_print"\nurl = "{down}"\n{TEST_IDENTITY}\n'
    async with kiosk(tmp_path / "kiosk", private_bus, cupsd, face=SIMULATED_FACES + route) as k:
        _info, checks = await run_checks(options(k, private_bus))
    [network] = failed(checks, "network")
    assert network.name == f"backend {down[7:-4]}"
    assert "cannot be reached" in network.detail
    assert "[backends]" in network.fix
    [item] = failed(checks, "items")
    assert item.name.startswith("id_card_print")
    assert down in item.detail
    assert "department platform for id_card_print" in item.fix
    # the other items' route answers; devices and deployment are not touched
    assert len([c for c in checks if c.stage == "items" and c.status == PASS]) == 6
    assert not failed(checks, "devices")
    assert not failed(checks, "deployment")


async def test_a_receipt_printer_out_of_paper_fails_the_test_print(
    tmp_path: Path, private_bus: PrivateBus, cupsd: CupsServer
) -> None:
    async with kiosk(tmp_path / "kiosk", private_bus, cupsd) as k:
        with k.daemon.bus.stream(ReceiptPrinterStateChanged) as states:
            k.printer.run_out_of_paper()
            while (await asyncio.wait_for(states.get(), WAIT)).state == "ready":
                pass
        _info, checks = await run_checks(options(k, private_bus, print_test=True))
        printed = len(k.printer.receipts)
    [test] = failed(checks, "devices")
    assert test.name == "test receipt"
    assert "load receipt paper" in test.fix
    assert printed == 0
    assert not failed(checks, "network")
    assert not failed(checks, "items")


async def test_a_port_map_role_whose_device_does_not_answer_fails_devices(
    tmp_path: Path, private_bus: PrivateBus, cupsd: CupsServer
) -> None:
    port = f"socket://127.0.0.1:{closed_port()}"
    extra = f'\n[[devices.static]]\nrole = "qrscanner"\nport = "{port}"\n'
    async with kiosk(tmp_path / "kiosk", private_bus, cupsd, face=SIMULATED_FACES + extra) as k:
        _info, checks = await run_checks(options(k, private_bus))
    [missing] = failed(checks, "devices")
    assert missing.name == "qrscanner"
    assert port in missing.detail
    assert "qrscanner" in missing.fix
    assert "[[devices.static]]" in missing.fix
