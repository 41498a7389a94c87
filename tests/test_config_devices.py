"""Device roles and addresses in the configuration: unknown roles and malformed ports are
refused with the file, the key and the expectation; credentials kept in a port URL still
work, draw a deprecation warning and never show in the device list, its signals or logs."""

from __future__ import annotations

import asyncio
import logging
import re
import subprocess
import sys
from pathlib import Path
from typing import Any, List

import pytest
from dbus_next.aio import MessageBus
from hypothesis import given
from hypothesis import strategies as st

from govkiosk.api.devices import DRIVERS
from govkiosk.app import Daemon
from govkiosk.config import config_warnings, load_config
from govkiosk.contract.names import BUS_NAME, DEVICES_INTERFACE, KIOSK_INTERFACE, OBJECT_PATH
from govkiosk.devices.registry import DeviceChanged
from govkiosk.devices.roles import DRIVEN, ROLES, address_problem
from govkiosk.tables import ConfigError
from harness.dbus import PrivateBus
from harness.eventually import eventually
from harness.nut import NutServer

KIOSK = '[kiosk]\nid = "kiosk-roles"\n'
KNOWN = (
    "doc_camera, face_camera_ir, face_camera_rgb, hub, idcard, pinpad, presence, qrscanner,"
    " receipt_printer, ups"
)


def problems(tmp_path: Path, text: str) -> List[str]:
    main = tmp_path / "govkiosk.toml"
    main.write_text(KIOSK + text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(main)
    return [str(p) for p in caught.value.problems]


def static(role: str, port: str) -> str:
    return f'[[devices.static]]\nrole = "{role}"\nport = "{port}"\n'


def test_the_known_roles_are_the_drivers_roles_and_the_recorded_ones() -> None:
    assert set(DRIVERS) == set(DRIVEN)
    assert tuple(sorted(ROLES)) == ROLES


def test_an_unknown_role_is_refused_with_the_known_roles(tmp_path: Path) -> None:
    (conf_d := tmp_path / "conf.d").mkdir()
    (conf_d / "10-dev.toml").write_text(static("printer", "/dev/ttyS0"), encoding="utf-8")
    (tmp_path / "govkiosk.toml").write_text(KIOSK, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path / "govkiosk.toml")
    assert [str(p) for p in caught.value.problems] == [
        f'conf.d/10-dev.toml: devices.static.0.role: expected a known role ({KNOWN}), got "printer"'
    ]


@pytest.mark.parametrize(
    ("role", "port", "expected"),
    [
        ("idcard", "socket://10.0.0.5", 'expected socket://host:port, got "socket://10.0.0.5"'),
        ("idcard", "socket://10.0.0.5:0", "expected a TCP port between 1 and 65535"),
        ("idcard", "socket://10.0.0.5:70000", "expected a TCP port between 1 and 65535 in the URL"),
        ("idcard", "socket://10.0.0.5:http", "expected a TCP port between 1 and 65535 in the URL"),
        ("idcard", "ttyUSB0", "expected an absolute path under /dev/ or a URL"),
        ("idcard", "/tmp/ttyUSB0", "expected a device path under /dev/"),
        ("receipt_printer", "tcp://10.0.0.6:9100", "expected a /dev/ path or socket://host:port"),
        ("ups", "nut://10.0.0.7/", "expected nut://host[:port]/upsname"),
        ("ups", "nut://10.0.0.7:0/ups", "expected a TCP port between 1 and 65535"),
        ("idcard", "nut://10.0.0.7/ups", "nut:// serves only the ups role"),
        ("doc_camera", "ftp://10.0.0.8/cam", "expected /dev/videoN, http(s)://host[:port]/path"),
        ("face_camera_rgb", "file://clip.avi", "expected file:///absolute/path"),
        ("face_camera_ir", "http:///ir", "expected http://host[:port]/path"),
    ],
)
def test_a_malformed_address_is_refused(
    tmp_path: Path, role: str, port: str, expected: str
) -> None:
    (found,) = problems(tmp_path, static(role, port))
    assert found.startswith("govkiosk.toml: devices.static.0.port: ")
    assert expected in found


@pytest.mark.parametrize(
    ("role", "port"),
    [
        ("idcard", "/dev/ttyUSB0"),
        ("idcard", "socket://10.0.0.5:9000"),
        ("qrscanner", "/dev/input/by-id/usb-scanner-event-kbd"),
        ("ups", "nut://10.0.0.7/kioskups"),
        ("ups", "nut://10.0.0.7:3493/kioskups"),
        ("ups", "/dev/ttyS1"),
        ("face_camera_rgb", "/dev/video0"),
        ("face_camera_rgb", "http://127.0.0.1:8081/rgb"),
        ("face_camera_ir", "rtsp://10.0.0.9/ir"),
        ("doc_camera", "https://10.0.0.9:8443/doc"),
        ("doc_camera", "file:///srv/clips/img_%03d.png"),
        ("pinpad", "socket://127.0.0.1:9"),
    ],
)
def test_every_address_form_is_accepted(tmp_path: Path, role: str, port: str) -> None:
    main = tmp_path / "govkiosk.toml"
    main.write_text(KIOSK + static(role, port), encoding="utf-8")
    (device,) = load_config(main).devices.static
    assert (device.role, device.port) == (role, port)


@pytest.mark.fuzz
@given(st.text(max_size=60), st.sampled_from(ROLES))
def test_any_text_gets_an_answer_never_an_exception(port: str, role: str) -> None:
    problem = address_problem(role, port)
    assert problem is None or problem.startswith("expected")


@pytest.mark.fuzz
@given(st.integers(min_value=0, max_value=99999))
def test_socket_ports_are_accepted_exactly_in_range(number: int) -> None:
    problem = address_problem("idcard", f"socket://10.0.0.5:{number}")
    assert (problem is None) == (1 <= number <= 65535)


def test_an_unknown_role_in_the_port_map_names_the_rules_file_and_line(tmp_path: Path) -> None:
    rules = tmp_path / "usb.rules"
    rules.write_text(
        "allow hub via-port 1-2 with-interface 09:*:*\n"
        "allow reciept_printer via-port 1-2.1 with-interface 07:*:*\n"
        "maintenance engineer_storage via-port 1-4 with-interface 08:*:*\n",
        encoding="utf-8",
    )
    assert problems(tmp_path, f'[devices.usb]\nrules = "{rules}"\n') == [
        f'govkiosk.toml: devices.usb.rules: {rules}:2: unknown role "reciept_printer"'
        f" (known roles: {KNOWN})"
    ]


def govkioskd(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(Path(sys.executable).parent / "govkioskd"), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_check_config_refuses_and_warns(tmp_path: Path) -> None:
    bad = tmp_path / "bad" / "govkiosk.toml"
    bad.parent.mkdir()
    bad.write_text(
        KIOSK + static("scanner", "/dev/ttyS0") + static("idcard", "socket://10.0.0.5"),
        encoding="utf-8",
    )
    refused = govkioskd("--config", str(bad), "--check-config")
    assert refused.returncode == 2
    assert "govkiosk.toml: devices.static.0.role: expected a known role" in refused.stderr
    assert "govkiosk.toml: devices.static.1.port: expected socket://host:port" in refused.stderr

    old = tmp_path / "old" / "govkiosk.toml"
    old.parent.mkdir()
    old.write_text(
        KIOSK + static("ups", "nut://monitor:Pa55-w0rd@10.0.0.7/kioskups"), encoding="utf-8"
    )
    accepted = govkioskd("--config", str(old), "--check-config")
    assert accepted.returncode == 0, accepted.stderr
    assert (
        'warning: devices.static.0.port "nut://10.0.0.7/kioskups": credentials in the URL are'
        " deprecated; set [ups] user and password_file (or password) instead" in accepted.stdout
    )
    assert "Pa55-w0rd" not in accepted.stdout + accepted.stderr
    assert config_warnings(load_config(old.parent / "govkiosk.toml"))


async def test_credentials_in_a_port_never_show(
    tmp_path: Path, private_bus: PrivateBus, nut: NutServer, caplog: pytest.LogCaptureFixture
) -> None:
    """The deprecated form still logs in, and the password appears in no row, no signal, no
    event that ops' telemetry copies, no log line."""
    caplog.set_level(logging.DEBUG)
    secret = nut.password
    port = nut.url.replace("nut://", f"nut://{nut.user}:{secret}@")
    config_file = tmp_path / "govkiosk.toml"
    config_file.write_text(
        KIOSK
        + f'[devices.usb]\nsysfs = "{tmp_path}"\n'
        + "[ups]\npoll_interval = 0.1\ndry_run = true\n"
        + static("ups", port),
        encoding="utf-8",
    )
    daemon = Daemon(
        config_file, load_config(config_file), tmp_path / "state", bus_address=private_bus.address
    )
    events: List[DeviceChanged] = []
    unsubscribe = daemon.runtime.bus.subscribe(DeviceChanged, events.append)
    running = asyncio.ensure_future(daemon.run())
    client = await MessageBus(bus_address=private_bus.address).connect()
    try:
        await eventually(lambda: daemon.supervisor.health("dbus")[0].healthy, "on the bus")
        introspection = await client.introspect(BUS_NAME, OBJECT_PATH)
        proxy = client.get_proxy_object(BUS_NAME, OBJECT_PATH, introspection)
        devices = proxy.get_interface(DEVICES_INTERFACE)
        kiosk = proxy.get_interface(KIOSK_INTERFACE)
        signals: List[Any] = []
        devices.on_device_changed(lambda action, row: signals.append((action, row)))
        await eventually(
            lambda: any(e.driver == "running" for e in events), "the UPS driver logged in"
        )
        rows = await devices.call_list_devices()
        kiosk_rows = await kiosk.call_list_devices()
        (row,) = [r for r in rows if r["role"].value == "ups"]
        assert row["port"].value == nut.url
        shown = repr((rows, kiosk_rows, signals, events)) + caplog.text
        assert nut.url in shown
        assert secret not in shown
    finally:
        unsubscribe()
        server_side = daemon.runtime.dbus._bus
        daemon.request_stop()
        assert await asyncio.wait_for(running, 15) == 0
        client.disconnect()
        # As in test_devices_dbus_umockdev: dbus-next leaves its sockets open.
        await client.wait_for_disconnect()
        client._sock.close()
        if server_side is not None:
            server_side._sock.close()


def test_the_packaged_files_commented_devices_are_valid(tmp_path: Path) -> None:
    """packaging/config/govkiosk.toml's device examples, uncommented, load as they are."""
    packaged = Path(__file__).resolve().parent.parent / "packaging/config/govkiosk.toml"
    example = re.compile(
        r"# (\[\[devices\.static\]\]|\[ups\]|role = |port = |user = |password_file = )"
    )
    lines = [
        line[2:] if example.match(line) else line
        for line in packaged.read_text(encoding="utf-8").splitlines()
        if not line.startswith("rules = ")  # the port map is the kiosk's own file
    ]
    main = tmp_path / "govkiosk.toml"
    main.write_text("\n".join(lines), encoding="utf-8")
    config = load_config(main)
    assert {d.role for d in config.devices.static} == set(DRIVEN)
    assert config.ups.user is not None
    assert config.ups.password_file is not None
    assert config_warnings(config) == []


def test_check_config_needs_the_password_file(tmp_path: Path) -> None:
    secret = tmp_path / "nut-password"
    main = tmp_path / "govkiosk.toml"
    main.write_text(
        KIOSK
        + f'[ups]\nuser = "upsmon"\npassword_file = "{secret}"\n'
        + static("ups", "nut://10.0.0.7/kioskups"),
        encoding="utf-8",
    )
    missing = govkioskd("--config", str(main), "--check-config")
    assert missing.returncode == 2
    assert f"[ups] password_file {secret}: cannot be read" in missing.stderr
    secret.write_text("Pa55-w0rd\n", encoding="utf-8")
    present = govkioskd("--config", str(main), "--check-config")
    assert present.returncode == 0, present.stderr
    assert "Pa55-w0rd" not in present.stdout + present.stderr
