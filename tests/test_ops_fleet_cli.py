"""``govkioskctl fleet``: keys, the site CA, send and watch against a running kiosk."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import List, Tuple

import pytest

from govkiosk.cli import main as ctl
from govkiosk.fleet.pki import CertificateAuthority
from govkiosk.ops.signing import OperatorSigner, common_name, issued_by, load_certificate
from harness.dbus import PrivateBus
from harness.opskiosk import KIOSK, running_kiosk
from harness.opssite import Site

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> Tuple[int, str, str]:
    status = ctl.main(["fleet", *argv])
    out, err = capsys.readouterr()
    return status, out, err


def test_keys_and_site_ca(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    keys, ca_dir, out = tmp_path / "keys", tmp_path / "ca", tmp_path / "out"
    assert run(capsys, "keys", "generate", "--dir", str(keys), "alice-2026")[0] == 0
    assert run(capsys, "keys", "generate", "--dir", str(keys), "alice-2026")[0] == 2  # kept
    assert (keys / "alice-2026.key").stat().st_mode & 0o077 == 0
    status, exported, _ = run(
        capsys, "keys", "export", "--dir", str(keys), "--roles", "operator,viewer"
    )
    assert status == 0
    pinned = tomllib.loads(exported)["ops"]["operators"][0]
    signer = OperatorSigner.load(keys / "alice-2026.key")
    assert pinned == {
        "key_id": "alice-2026",
        "public_key": signer.public_b64(),
        "roles": ["operator", "viewer"],
    }

    assert run(capsys, "ca", "init", "--dir", str(ca_dir))[0] == 0
    assert run(capsys, "ca", "init", "--dir", str(ca_dir))[0] == 1  # never overwritten
    assert (
        run(capsys, "ca", "issue-kiosk", "--dir", str(ca_dir), "--out", str(out), "hl-hrb-0042")[0]
        == 0
    )
    assert (
        run(capsys, "ca", "issue-broker", "--dir", str(ca_dir), "--out", str(out), "127.0.0.1")[0]
        == 0
    )
    ca = CertificateAuthority.load(ca_dir)
    kiosk_cert = load_certificate(out / "hl-hrb-0042.crt")
    assert common_name(kiosk_cert) == "hl-hrb-0042"
    assert issued_by(kiosk_cert, ca.credential.certificate)
    assert (out / "broker.key").exists()


async def in_thread(capsys: pytest.CaptureFixture[str], *argv: str) -> Tuple[int, str, str]:
    # ``fleet`` runs its own event loop, as it does from a shell.
    return await asyncio.get_running_loop().run_in_executor(None, lambda: run(capsys, *argv))


async def test_send_and_watch(
    site: Site, private_bus: PrivateBus, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    identity = site.identity("ops-operator")
    connection: List[str] = [
        "--broker", f"{identity.host}:{identity.port}", "--ca", str(identity.ca),
        "--cert", str(identity.cert), "--key", str(identity.key),
    ]  # fmt: skip
    keys = tmp_path / "keys"
    keys.mkdir()
    for role in ("viewer", "operator"):
        (keys / f"{role}.key").write_bytes(site.signers[role].private_pem())
    # The key's file name is its id: name the files after the pinned ids.
    for role in ("viewer", "operator"):
        (keys / f"{role}.key").rename(keys / f"{site.signers[role].key_id}.key")
    viewer_key = str(keys / f"{site.signers['viewer'].key_id}.key")
    async with running_kiosk(
        site, tmp_path / "kiosk", private_bus.address, telemetry_interval=0.2
    ) as kiosk:
        await kiosk.connected()
        status, out, _ = await in_thread(
            capsys,
            "send",
            *connection,
            "--signing-key",
            viewer_key,
            "--role",
            "viewer",
            "--kiosk",
            KIOSK,
            "status",
        )
        assert status == 0
        assert out.startswith(f"{KIOSK}: SUCCEEDED")

        status, out, _ = await in_thread(
            capsys,
            "send",
            *connection,
            "--signing-key",
            viewer_key,
            "--role",
            "viewer",
            "--kiosk",
            KIOSK,
            "reboot",
        )
        assert status == 1
        assert "REJECTED (role_denied): role 'viewer' may not call 'reboot'" in out
        assert "hint: use a key pinned for a role allowed this method" in out

        status, out, _ = await in_thread(
            capsys, "send", *connection, "--signing-key", viewer_key, "--role", "viewer", "--json",
            "--kiosk", KIOSK, "--kiosk", "absent-kiosk", "--timeout", "1", "devices",
        )  # fmt: skip
        assert status == 3
        replies = json.loads(out)
        assert replies["absent-kiosk"] is None
        assert replies[KIOSK]["status"] == "SUCCEEDED"

        status, out, _ = await in_thread(
            capsys, "watch", *connection, "--json", "--interval", "0.5", "--duration", "1.2"
        )
    assert status == 0
    last = json.loads(out.strip().splitlines()[-1])
    row = next(k for k in last["kiosks"] if k["kiosk_id"] == KIOSK)
    assert row["online"] is True
    assert row["healthy"] is not None
