"""Passwords and keys expire (§8 f): the maintenance PIN's age, its change, the certificate watch,
and ``govkioskctl keys`` rotating the ops key through a CSR signed by a real site CA."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import hashlib
import json
import stat
from pathlib import Path
from typing import List, Optional

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from dbus_next.aio import MessageBus, ProxyInterface
from dbus_next.errors import DBusError
from hypothesis import given, settings
from hypothesis import strategies as st

from govkiosk.api.maintenance import token_days_left
from govkiosk.bus import Alarm, EventBus, Severity
from govkiosk.cli.main import main
from govkiosk.config import load_config
from govkiosk.contract.connection import close, connect
from govkiosk.contract.names import BUS_NAME, ERROR_PREFIX, MAINTENANCE_INTERFACE, OBJECT_PATH
from govkiosk.devices.usbseal.audit import AuditLog
from govkiosk.devices.usbseal.maintenance import (
    MaintenanceDeniedError,
    MaintenanceWindows,
    TokenExpiredError,
)
from govkiosk.devices.usbseal.settings import UsbSection
from govkiosk.maintenance import expiry
from govkiosk.maintenance.access import (
    LoginGate,
    NotLoggedInError,
    PinExpiredError,
    PinReusedError,
    WrongPinError,
)
from govkiosk.maintenance.certs import certificate_status
from govkiosk.maintenance.pin import hash_pin, verify_pin
from govkiosk.maintenance.settings import MaintenanceSettings
from govkiosk.maintenance.watch import CredentialWatch
from govkiosk.ops.signing import KioskSigner, issued_by, load_certificate
from govkiosk.store import Store
from govkiosk.tables import ConfigError
from harness.dbus import PrivateBus
from harness.govkioskd import BIN, Govkioskd
from harness.pki import CertificateAuthority

FAST = 1000
DAY = 86400.0
#: 2026-12-06 12:00 UTC
NOW = datetime.datetime(2026, 12, 6, 12, 0, tzinfo=datetime.timezone.utc).timestamp()
TODAY = datetime.date.fromtimestamp(NOW)


def gate(pin_set: str, max_age: int = 90, **more: float) -> LoginGate:
    config = MaintenanceSettings(
        pin_hash=hash_pin("246810", iterations=FAST),
        pin_set=pin_set,
        pin_max_age_days=max_age,
        **more,  # type: ignore[arg-type]
    )
    return LoginGate(lambda: config, verify_pin)


def days_ago(days: int) -> str:
    return (TODAY - datetime.timedelta(days=days)).isoformat()


# --- the PIN's age ---------------------------------------------------------------------------


def test_a_pin_within_its_age_logs_in_and_counts_down() -> None:
    login = gate(days_ago(80))
    assert login.days_left(NOW) == 10
    assert login.record(login.verify("246810"), NOW)


def test_an_expired_pin_is_refused_even_when_right() -> None:
    login = gate(days_ago(90))
    assert login.days_left(NOW) == 0
    with pytest.raises(PinExpiredError, match="govkioskctl pin set"):
        login.record(login.verify("246810"), NOW)
    with pytest.raises(WrongPinError):  # a wrong PIN is still only wrong
        login.record(login.verify("111111"), NOW)


def test_no_expiry_when_switched_off_or_the_date_is_unknown() -> None:
    assert gate(days_ago(400), max_age=0).days_left(NOW) is None
    unknown = gate("")
    assert unknown.days_left(NOW) is None
    assert unknown.record(True, NOW)


def test_an_expired_pin_changes_itself_and_the_new_one_logs_in() -> None:
    login = gate(days_ago(120))
    old_token_gate = gate(days_ago(10))
    new_hash = hash_pin("975310", iterations=FAST)
    with pytest.raises(PinReusedError):
        login.change(True, True, new_hash, NOW)
    record = login.change(login.verify("246810"), login.verify("975310"), new_hash, NOW)
    assert record == expiry.PinRecord(new_hash, TODAY)
    assert login.days_left(NOW) == 90
    assert login.verify("975310")
    assert not login.verify("246810")
    assert login.record(True, NOW)
    # a change ends the logins made with the old PIN
    token = old_token_gate.record(True, NOW)
    old_token_gate.change(True, False, new_hash, NOW)
    with pytest.raises(NotLoggedInError):
        old_token_gate.seconds_left(token, NOW + 1)


def test_a_wrong_old_pin_counts_towards_the_lockout() -> None:
    login = gate(days_ago(1), max_failures=2, lockout_seconds=60.0)
    new_hash = hash_pin("975310", iterations=FAST)
    for _ in range(2):
        with pytest.raises(WrongPinError):
            login.change(False, False, new_hash, NOW)
    assert login.lockout()["locked_until"] == NOW + 60.0
    assert login.kept is None


def test_the_newer_of_the_configured_and_the_changed_pin_is_in_force() -> None:
    configured = expiry.PinRecord("a", TODAY)
    kept = expiry.PinRecord("b", TODAY - datetime.timedelta(days=3))
    assert expiry.in_force(configured, kept) is configured  # the site set a newer one
    assert expiry.in_force(configured, expiry.PinRecord("b", TODAY)).pin_hash == "b"
    assert expiry.in_force(expiry.PinRecord("a", None), kept) is kept
    assert expiry.in_force(configured, None) is configured


def test_the_changed_pin_is_kept_privately_and_holds_no_pin(tmp_path: Path) -> None:
    path = tmp_path / expiry.PIN_FILE
    record = expiry.PinRecord(hash_pin("975310", iterations=FAST), TODAY)
    expiry.save(path, record)
    assert expiry.load(path) == record
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "975310" not in path.read_text()
    assert sorted(json.loads(path.read_text())) == ["pin_hash", "pin_set"]


PIN_FILE_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(), st.text(max_size=30), st.lists(st.integers())
)


@settings(max_examples=150)
@given(
    st.one_of(
        st.text(max_size=200),
        st.dictionaries(st.sampled_from(["pin_hash", "pin_set", "x"]), PIN_FILE_VALUES).map(
            json.dumps
        ),
        st.lists(PIN_FILE_VALUES).map(json.dumps),
    )
)
def test_a_damaged_pin_file_is_no_pin_and_never_crashes(text: str) -> None:
    assert expiry.parse(text) is None


@pytest.mark.parametrize(
    "document",
    [
        {"pin_hash": "not-a-hash", "pin_set": "2026-01-01"},
        {"pin_hash": hash_pin("975310", iterations=FAST), "pin_set": "yesterday"},
        {"pin_hash": 7, "pin_set": "2026-01-01"},
        ["pin_hash"],
    ],
)
def test_a_pin_file_we_did_not_write_is_ignored(tmp_path: Path, document: object) -> None:
    path = tmp_path / expiry.PIN_FILE
    path.write_text(json.dumps(document))
    assert expiry.load(path) is None


@pytest.mark.parametrize(
    ("line", "key"),
    [
        ('pin_set = "2026-13-01"', "pin_set"),
        ('pin_set = "1.12.2026"', "pin_set"),
        ("pin_max_age_days = -1", "pin_max_age_days"),
        ("pin_warn_days = -3", "pin_warn_days"),
    ],
)
def test_the_configuration_refuses_bad_dates_and_ages(tmp_path: Path, line: str, key: str) -> None:
    config = tmp_path / "govkiosk.toml"
    config.write_text(f'[kiosk]\nid = "k-1"\nname = "n"\n\n[maintenance]\n{line}\n')
    with pytest.raises(ConfigError, match=f"maintenance.{key}"):
        load_config(config)


def test_the_configuration_takes_a_dated_pin(tmp_path: Path) -> None:
    config = tmp_path / "govkiosk.toml"
    config.write_text(
        '[kiosk]\nid = "k-1"\nname = "n"\n\n[maintenance]\npin_set = "2026-12-01"\n'
        "pin_max_age_days = 30\n"
    )
    settings = load_config(config).maintenance
    assert (settings.pin_set, settings.pin_max_age_days, settings.pin_warn_days) == (
        "2026-12-01",
        30,
        14,
    )


# --- the certificate and PIN watch ---------------------------------------------------------


def issue(ca: CertificateAuthority, directory: Path, name: str, days: float) -> Path:
    ca.validity = datetime.timedelta(days=days)
    credential = ca.issue_client("test-hlj-0001")
    cert, _key = credential.write(directory, name)
    return cert


async def run_watch(
    pin_left: Optional[int], certificates: dict, unknown: bool = False
) -> List[Alarm]:
    bus = EventBus()
    heard: List[Alarm] = []
    bus.subscribe(Alarm, heard.append)
    watch = CredentialWatch(
        bus,
        lambda _now: pin_left,
        lambda: 14,
        lambda: unknown,
        lambda: certificates,
        clock=lambda: NOW,
    )
    raised = await watch.check()
    assert raised == heard
    return heard


async def test_certificates_are_alarmed_thirty_days_ahead(tmp_path: Path) -> None:
    ca = CertificateAuthority()
    soon = issue(ca, tmp_path, "soon", 10)
    later = issue(ca, tmp_path, "later", 200)
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate")
    now = datetime.datetime.now(datetime.timezone.utc)
    assert certificate_status("x", str(later), now).days_left in (199, 200)
    bus = EventBus()
    heard: List[Alarm] = []
    bus.subscribe(Alarm, heard.append)
    watch = CredentialWatch(
        bus,
        lambda _now: None,
        lambda: 14,
        lambda: False,
        lambda: {"ops.cert": str(soon), "ops.ca": str(later), "other": str(garbage), "none": ""},
    )
    await watch.check()
    assert [(a.code, a.severity) for a in heard] == [
        ("certificate_expiring", Severity.WARNING),
        ("certificate_unreadable", Severity.CRITICAL),
    ]
    assert "ops.cert" in heard[0].message
    assert "keys rotate" in heard[0].message


async def test_an_expired_certificate_is_critical(tmp_path: Path) -> None:
    cert = issue(CertificateAuthority(), tmp_path, "old", 1)
    future = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=3)
    assert (certificate_status("ops.cert", str(cert), future).days_left or 0) < 0
    bus = EventBus()
    heard: List[Alarm] = []
    bus.subscribe(Alarm, heard.append)
    watch = CredentialWatch(
        bus,
        lambda _now: None,
        lambda: 14,
        lambda: False,
        lambda: {"ops.cert": str(cert)},
        clock=future.timestamp,
    )
    await watch.check()
    assert [(a.code, a.severity) for a in heard] == [("certificate_expired", Severity.CRITICAL)]


@pytest.mark.parametrize(
    ("left", "unknown", "expected"),
    [
        (30, False, []),
        (14, False, [("pin_expiring", Severity.WARNING)]),
        (1, False, [("pin_expiring", Severity.WARNING)]),
        (0, False, [("pin_expired", Severity.CRITICAL)]),
        (-5, False, [("pin_expired", Severity.CRITICAL)]),
        (None, True, [("pin_age_unknown", Severity.WARNING)]),
        (None, False, []),
    ],
)
async def test_the_pin_is_alarmed_before_and_after_it_expires(
    left: Optional[int], unknown: bool, expected: list
) -> None:
    heard = await run_watch(left, {}, unknown)
    assert [(a.code, a.severity) for a in heard] == expected


# --- govkioskctl keys --------------------------------------------------------------------------


def kiosk_config(tmp_path: Path, ca: CertificateAuthority, days: float) -> Path:
    pki = tmp_path / "pki"
    pki.mkdir()
    ca_path = ca.write(pki)
    ca.validity = datetime.timedelta(days=days)
    cert, key = ca.issue_client("test-hlj-0001").write(pki, "kiosk")
    config = tmp_path / "govkiosk.toml"
    config.write_text(
        f'[kiosk]\nid = "test-hlj-0001"\nname = "测试 1号机"\n\n'
        f'[ops]\nhost = "127.0.0.1"\nca = "{ca_path}"\ncert = "{cert}"\nkey = "{key}"\n',
        encoding="utf-8",
    )
    return config


def ctl(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def sign_request(ca: CertificateAuthority, csr_pem: bytes, cn: Optional[str] = None) -> bytes:
    request = x509.load_pem_x509_csr(csr_pem)
    assert request.is_signature_valid
    subject = (
        request.subject
        if cn is None
        else x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, cn)])
    )
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca.credential.certificate.subject)
        .public_key(request.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=365))
        .sign(ca.credential.key, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.PEM)


def test_keys_status_shows_days_left(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = kiosk_config(tmp_path, CertificateAuthority(), 20)
    status, out, _ = ctl(capsys, "keys", "--config", str(config), "status")
    assert status == 0
    rows = {line.split()[0]: line.split() for line in out.splitlines()[1:]}
    assert rows["ops.cert"][1] in ("19", "20")
    assert rows["ops.cert"][3] == "expiring"
    assert rows["ops.ca"][3] == "ok"
    status, out, _ = ctl(capsys, "--json", "keys", "--config", str(config), "status")
    document = json.loads(out)
    assert [r["name"] for r in document] == ["ops.cert", "ops.ca"]
    assert document[0]["subject"] == "CN=test-hlj-0001"


def test_keys_status_fails_on_an_unreadable_certificate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = kiosk_config(tmp_path, CertificateAuthority(), 20)
    for path in (tmp_path / "pki").glob("kiosk*"):
        if path.read_bytes().startswith(b"-----BEGIN CERTIFICATE"):
            path.write_text("damaged")
    status, out, _ = ctl(capsys, "keys", "--config", str(config), "status")
    assert status == 1
    assert "unreadable" in out


def test_keys_rotate_then_install_the_ca_signed_certificate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ca = CertificateAuthority()
    config = kiosk_config(tmp_path, ca, 20)
    text = config.read_text()
    key_path = Path(text.split('key = "')[1].split('"')[0])
    cert_path = Path(text.split('cert = "')[1].split('"')[0])
    old_key = key_path.read_bytes()
    status, out, err = ctl(capsys, "keys", "--config", str(config), "rotate")
    assert status == 0, err
    new_key = key_path.with_name(key_path.name + ".new")
    csr = key_path.with_name(key_path.name + ".csr")
    assert stat.S_IMODE(new_key.stat().st_mode) == 0o600
    assert key_path.read_bytes() == old_key  # the key in use is untouched until install
    request = x509.load_pem_x509_csr(csr.read_bytes())
    assert request.subject.rfc4514_string() == "CN=test-hlj-0001"

    # A certificate for another kiosk, or from another CA, is refused; nothing changes.
    wrong_cn = tmp_path / "wrong-cn.pem"
    wrong_cn.write_bytes(sign_request(ca, csr.read_bytes(), cn="test-hlj-0002"))
    other_ca = tmp_path / "other-ca.pem"
    other_ca.write_bytes(sign_request(CertificateAuthority(), csr.read_bytes()))
    for refused, reason in ((wrong_cn, "not the kiosk id"), (other_ca, "not issued by")):
        status, _, err = ctl(capsys, "keys", "--config", str(config), "install", str(refused))
        assert status == 1
        assert reason in err
        assert key_path.read_bytes() == old_key

    signed = tmp_path / "signed.pem"
    signed.write_bytes(sign_request(ca, csr.read_bytes()))
    status, out, err = ctl(capsys, "keys", "--config", str(config), "install", str(signed))
    assert status == 0, err
    assert cert_path.read_bytes() == signed.read_bytes()
    assert key_path.read_bytes() != old_key
    assert key_path.with_name(key_path.name + ".old").read_bytes() == old_key
    assert not new_key.exists()
    assert not csr.exists()
    status, out, _ = ctl(capsys, "keys", "--config", str(config), "status")
    assert status == 0
    assert next(line for line in out.splitlines() if line.startswith("ops.cert")).split()[3] == "ok"
    # The installed pair works: the daemon's signer loads the key, the CA vouches for the cert.
    KioskSigner(key_path)
    assert issued_by(load_certificate(cert_path), ca.credential.certificate)


# --- the daemon: Maintenance1.ChangePin and PinStatus over D-Bus -------------------------------


async def test_an_expired_pin_is_changed_over_dbus_and_survives_a_restart(
    tmp_path: Path, private_bus: PrivateBus
) -> None:
    pin_set = (datetime.date.today() - datetime.timedelta(days=100)).isoformat()
    daemon = Govkioskd(
        tmp_path / "kiosk",
        private_bus.address,
        f'\n[maintenance]\npin_hash = "{hash_pin("246810", iterations=FAST)}"\n'
        f'pin_set = "{pin_set}"\n',
    )
    for run in range(2):
        daemon.start()
        bus = await connect(private_bus.address)
        try:
            maintenance = await maintenance_of(bus, daemon)
            if run == 0:
                assert await maintenance.call_pin_status() == [True, -10]  # type: ignore[attr-defined]
                with pytest.raises(DBusError) as refused:
                    await maintenance.call_login("246810")  # type: ignore[attr-defined]
                assert refused.value.type == ERROR_PREFIX + "PinExpired"
                with pytest.raises(DBusError) as invalid:
                    await maintenance.call_change_pin("246810", "12")  # type: ignore[attr-defined]
                assert invalid.value.type == ERROR_PREFIX + "InvalidPin"
                with pytest.raises(DBusError) as wrong:
                    await maintenance.call_change_pin("111111", "975310")  # type: ignore[attr-defined]
                assert wrong.value.type == ERROR_PREFIX + "WrongPin"
                assert await maintenance.call_change_pin("246810", "975310") == 90  # type: ignore[attr-defined]
            assert await maintenance.call_pin_status() == [True, 90]  # type: ignore[attr-defined]
            token, seconds = await maintenance.call_login("975310")  # type: ignore[attr-defined]
            assert token
            assert seconds > 0
            alarms = await maintenance.call_recent_alarms(token)  # type: ignore[attr-defined]
            codes = [row[2] for row in alarms]
            # the daily watch ran at start: before the change it raised pin_expired
            assert ("pin_expired" in codes) == (run == 0)
        finally:
            await close(bus)
            daemon.stop()
    kept = (tmp_path / "kiosk/state" / expiry.PIN_FILE).read_text()
    assert "975310" not in kept
    assert "246810" not in kept
    for log in (tmp_path / "kiosk").glob("govkioskd-*.log"):
        text = log.read_text(errors="replace")
        assert "975310" not in text
        assert "246810" not in text


async def test_govkioskctl_pin_status_and_set(tmp_path: Path, private_bus: PrivateBus) -> None:
    pin_set = (datetime.date.today() - datetime.timedelta(days=85)).isoformat()
    daemon = Govkioskd(
        tmp_path / "kiosk",
        private_bus.address,
        f'\n[maintenance]\npin_hash = "{hash_pin("246810", iterations=FAST)}"\n'
        f'pin_set = "{pin_set}"\n',
    )
    daemon.start()
    bus = await connect(private_bus.address)
    try:
        maintenance = await maintenance_of(bus, daemon)

        async def ctl(*argv: str, stdin: str = "") -> tuple[int, str, str]:
            process = await asyncio.create_subprocess_exec(
                str(BIN / "govkioskctl"), "--bus", private_bus.address, "pin", *argv,
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )  # fmt: skip
            out, err = await asyncio.wait_for(process.communicate(stdin.encode()), 20)
            assert process.returncode is not None
            return process.returncode, out.decode(), err.decode()

        assert await ctl("status") == (0, "the PIN expires in 5 day(s)\n", "")
        token, _ = await maintenance.call_login("246810")  # type: ignore[attr-defined]
        codes = [r[2] for r in await maintenance.call_recent_alarms(token)]  # type: ignore[attr-defined]
        assert "pin_expiring" in codes
        status, _, err = await ctl("set", stdin="111111\n975310\n")
        assert status != 0
        assert "wrong PIN" in err
        status, _, err = await ctl("set", stdin="246810\n")
        assert status == 1
        assert "one a line" in err
        status, out, err = await ctl("set", stdin="246810\n975310\n")
        assert status == 0, err
        assert out == "PIN changed; the PIN expires in 90 day(s)\n"
        with pytest.raises(DBusError):  # the old login ended with the old PIN
            await maintenance.call_recent_alarms(token)  # type: ignore[attr-defined]
        assert await maintenance.call_login("975310")  # type: ignore[attr-defined]
    finally:
        await close(bus)
        daemon.stop()


async def maintenance_of(bus: MessageBus, daemon: Govkioskd) -> ProxyInterface:
    """``Maintenance1`` once the daemon serves it (the daemon exiting fails at once)."""
    deadline = asyncio.get_running_loop().time() + 20.0
    while True:
        try:
            introspection = await bus.introspect(BUS_NAME, OBJECT_PATH)
            proxy = bus.get_proxy_object(BUS_NAME, OBJECT_PATH, introspection)
            maintenance = proxy.get_interface(MAINTENANCE_INTERFACE)
            await maintenance.call_pin_status()  # type: ignore[attr-defined]
        except DBusError:
            assert daemon.proc is not None
            assert daemon.proc.alive(), daemon.proc.output()
            assert asyncio.get_running_loop().time() < deadline, "Maintenance1 not served"
            await asyncio.sleep(0.05)
        else:
            return maintenance


# --- engineers' tokens for USB maintenance windows ([devices.usb] operators) -------------------


async def test_a_dated_engineer_token_expires(tmp_path: Path) -> None:
    store = Store(tmp_path)
    await store.open()
    try:
        audit = AuditLog(store)
        await audit.migrate()
        digest = hashlib.sha256(b"engineer-token").hexdigest()
        operators = (
            f"engineer:{digest}:{days_ago(90)}",
            f"vendor:{digest}:{days_ago(89)}",
            f"legacy:{digest}",
        )
        windows = MaintenanceWindows(
            store, audit, operators, 30, clock=lambda: NOW, token_max_age_days=90
        )
        windows.eligible = frozenset({"1-4"})
        with pytest.raises(TokenExpiredError, match=f"expired on {TODAY.isoformat()}"):
            await windows.open("1-4", 10, "engineer", "engineer-token")
        with pytest.raises(MaintenanceDeniedError):
            await windows.open("1-4", 10, "vendor", "wrong-token")
        assert await windows.open("1-4", 10, "vendor", "engineer-token") == NOW + 600
        assert await windows.open("1-4", 10, "legacy", "engineer-token") == NOW + 600
        never = MaintenanceWindows(store, audit, operators, 30, clock=lambda: NOW)
        never.eligible = frozenset({"1-4"})
        assert await never.open("1-4", 10, "engineer", "engineer-token") == NOW + 600
    finally:
        await store.close()


@pytest.mark.parametrize(
    ("entry", "valid"),
    [
        ("engineer:" + "a" * 64, True),
        ("engineer:" + "a" * 64 + ":2026-12-01", True),
        ("engineer:" + "a" * 64 + ":2026-02-30", False),
        ("engineer:" + "a" * 64 + ":today", False),
        ("engineer:" + "a" * 64 + ":", False),
    ],
)
def test_operator_entries_may_carry_their_day(tmp_path: Path, entry: str, valid: bool) -> None:
    config = tmp_path / "govkiosk.toml"
    config.write_text(
        f'[kiosk]\nid = "k-1"\nname = "n"\n\n[devices.usb]\noperators = ["{entry}"]\n'
    )
    if valid:
        assert load_config(config).devices.usb.operators == (entry,)
    else:
        with pytest.raises(ConfigError, match=r"devices\.usb\.operators"):
            load_config(config)


async def test_engineer_tokens_are_alarmed_before_and_after_they_expire() -> None:
    digest = "a" * 64
    usb = UsbSection(
        operators=(
            f"engineer:{digest}:{days_ago(80)}",
            f"vendor:{digest}:{days_ago(95)}",
            f"fresh:{digest}:{days_ago(1)}",
            f"legacy:{digest}",
        ),
        token_max_age_days=90,
    )
    assert token_days_left(usb, TODAY) == {"engineer": 10, "vendor": -5, "fresh": 89}
    assert token_days_left(dataclasses.replace(usb, token_max_age_days=0), TODAY) == {}
    bus = EventBus()
    heard: List[Alarm] = []
    bus.subscribe(Alarm, heard.append)
    watch = CredentialWatch(
        bus,
        lambda _now: None,
        lambda: 14,
        lambda: False,
        dict,
        token_days_left=lambda now: token_days_left(usb, datetime.date.fromtimestamp(now)),
        clock=lambda: NOW,
    )
    await watch.check()
    assert [(a.code, a.message.split()[4]) for a in heard] == [
        ("token_expiring", "engineer"),
        ("token_expired", "vendor"),
    ]
