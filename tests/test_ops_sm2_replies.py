"""Replies signed with SM2 (``[ops] reply_algorithm = "sm2-sm3"``): the site's SM2 signing
CA issues the kiosk's reply certificate (``govkioskctl fleet ca issue-kiosk --sm2-reply``),
the kiosk signs with it, and the operator's FleetClient, through mosquitto with TLS and the
shipped ACL, accepts only what that certificate's key signed — not another kiosk's SM2
key, not an ECDSA signature passed off as SM2, not an ECDSA reply from an SM2 kiosk."""

from __future__ import annotations

import asyncio
import base64
import json
from pathlib import Path
from typing import Any, Dict, List, Tuple

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from govkiosk.cli import main as ctl
from govkiosk.fleet.client import FleetClient, FleetView
from govkiosk.fleet.pki import CertificateAuthority, Sm2SigningAuthority
from govkiosk.gm import certs, sm2
from govkiosk.ops.envelope import EnvelopeError, Reason, Reply, Status, b64, signed_bytes
from govkiosk.ops.settings import OpsSettings
from govkiosk.ops.signing import (
    SM2,
    KioskSigner,
    SigningError,
    load_certificate,
    open_document,
    open_reply,
)
from harness.dbus import PrivateBus
from harness.opskiosk import KIOSK, running_kiosk
from harness.opssite import Site

TIMEOUT = 20.0
TOPIC = f"kiosk/v1/{KIOSK}/cmd/res/ops-admin/c1"


def issue(capsys: pytest.CaptureFixture[str], ca_dir: Path, out: Path, kiosk: str) -> str:
    status = ctl.main(
        [
            *("fleet", "ca", "issue-kiosk", "--dir", str(ca_dir), "--out", str(out)),
            *("--sm2-reply", kiosk),
        ]
    )
    printed, _ = capsys.readouterr()
    assert status == 0
    return printed


@pytest.fixture
def sm2_site(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> Tuple[Path, Path, Sm2SigningAuthority]:
    ca_dir, out = tmp_path / "site-ca", tmp_path / "issued"
    CertificateAuthority().save(ca_dir)
    printed = issue(capsys, ca_dir, out, KIOSK)
    assert "SM2 signing CA created" in printed
    issue(capsys, ca_dir, out, "test-hlj-0002")  # another kiosk of the same site
    return ca_dir, out, Sm2SigningAuthority.load(ca_dir)


def test_issue_kiosk_sm2_reply_makes_a_reply_certificate_from_the_sm2_ca(sm2_site) -> None:
    ca_dir, out, authority = sm2_site
    reply = certs.load_certificate((out / f"{KIOSK}-sm2.pem").read_bytes())
    assert certs.name(reply) == KIOSK
    assert len(certs.validate_chain(reply, [authority.certificate])) == 2
    assert (out / f"{KIOSK}-sm2.key").stat().st_mode & 0o077 == 0
    assert (ca_dir / "sm2-ca.key").stat().st_mode & 0o077 == 0
    assert (out / "sm2-ca.pem").read_bytes() == authority.cert_pem()
    # The TLS certificate stays ECDSA from the site CA.
    assert load_certificate(out / f"{KIOSK}.crt").signature_hash_algorithm is not None


def test_sm2_replies_need_their_key_and_its_own_certificate(sm2_site) -> None:
    assert OpsSettings(reply_algorithm="sm2-sm3").config_problems() == [
        ("reply_algorithm", '"sm2-sm3" needs reply_key and reply_cert')
    ]
    assert OpsSettings().config_problems() == []
    _, out, _ = sm2_site
    signer = KioskSigner(out / f"{KIOSK}.key", out / f"{KIOSK}-sm2.key")
    signer.check_reply_certificate((out / f"{KIOSK}-sm2.pem").read_bytes(), KIOSK)
    for pem, kiosk, why in (
        (out / "test-hlj-0002-sm2.pem", "test-hlj-0002", "certifies another key"),
        (out / f"{KIOSK}-sm2.pem", "test-hlj-0002", "not the kiosk id"),
        (out / f"{KIOSK}.crt", KIOSK, "not an SM2 certificate"),
    ):
        with pytest.raises(SigningError, match=why):
            signer.check_reply_certificate(pem.read_bytes(), kiosk)
    with pytest.raises(SigningError, match="no SM2 reply key"):
        KioskSigner(out / f"{KIOSK}.key").check_reply_certificate(b"", KIOSK)


def _ecdsa_key(path: Path) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return key


def _forged(body: Dict[str, Any], signature: bytes) -> bytes:
    return json.dumps({**body, "sig": b64(signature)}).encode("utf-8")


def test_forged_and_confused_replies_are_refused(sm2_site) -> None:
    _, out, authority = sm2_site
    tls = load_certificate(out / f"{KIOSK}.crt")
    reply_cert = certs.load_certificate((out / f"{KIOSK}-sm2.pem").read_bytes())
    signer = KioskSigner(out / f"{KIOSK}.key", out / f"{KIOSK}-sm2.key")
    reply = Reply("c1", KIOSK, Status.SUCCEEDED, 1.0, result={"ok": True}, method="status")
    payload = signer.seal(TOPIC, reply)
    assert json.loads(payload)["sig_alg"] == SM2
    assert open_reply(payload, TOPIC, tls, sm2_certificate=reply_cert) == reply
    body = {**reply.body(), "sig_alg": SM2}

    def refused(forged: bytes, **kwargs: Any) -> str:
        with pytest.raises(EnvelopeError) as caught:
            open_reply(forged, TOPIC, tls, **kwargs)
        assert caught.value.reason is Reason.BAD_SIGNATURE
        return str(caught.value)

    # Another kiosk of the same site (same SM2 CA) signs a reply for this one.
    other = sm2.PrivateKey.from_pem((out / "test-hlj-0002-sm2.key").read_bytes())
    other_signed = _forged(body, sm2.sign(other, signed_bytes(TOPIC, body)))
    assert "does not verify" in refused(other_signed, sm2_certificate=reply_cert)
    # sig_alg is signed: relabelling an SM2 reply, or dropping the label, breaks it.
    relabelled = json.loads(payload)
    relabelled["sig_alg"] = "ecdsa-p256-sha256"
    assert "signs with sm2-sm3" in refused(
        json.dumps(relabelled).encode(), sm2_certificate=reply_cert
    )
    assert "does not verify" in refused(json.dumps(relabelled).encode())
    # Algorithm confusion: the envelope says SM2, the signature is the kiosk's EC key's.
    ec_signature = _ecdsa_key(out / f"{KIOSK}.key").sign(
        signed_bytes(TOPIC, body), ec.ECDSA(hashes.SHA256())
    )
    confused = _forged(body, ec_signature)
    assert "does not verify" in refused(confused, sm2_certificate=reply_cert)
    assert "no SM2 reply certificate" in refused(confused)  # no SM2 certificate: no SM2 at all
    ec_as_sm2 = certs.load_certificate(tls.public_bytes(serialization.Encoding.PEM))
    assert "reply key is not SM2" in refused(confused, sm2_certificate=ec_as_sm2)
    # An ECDSA reply (the default) from a kiosk known to sign with SM2: a downgrade.
    ecdsa_payload = KioskSigner(out / f"{KIOSK}.key").seal(TOPIC, reply)
    assert open_reply(ecdsa_payload, TOPIC, tls) == reply
    assert "but this kiosk signs with sm2-sm3" in refused(ecdsa_payload, sm2_certificate=reply_cert)
    assert authority.certificate is not None


def test_the_fleet_view_takes_only_the_kiosks_own_reply_certificate(sm2_site, tmp_path) -> None:
    _, out, authority = sm2_site
    site_ca = load_certificate(out / "ca.crt")
    view = FleetView(site_ca, authority.certificate)
    tls_pem = (out / f"{KIOSK}.crt").read_text()

    def state(reply_pem: str) -> Any:
        document = {"online": True, "cert": tls_pem, "reply_cert": reply_pem}
        view.handle(f"kiosk/v1/{KIOSK}/state", json.dumps(document).encode(), 0.0)
        return view.row(KIOSK).reply_certificate

    assert certs.name(state((out / f"{KIOSK}-sm2.pem").read_text())) == KIOSK
    assert state((out / "test-hlj-0002-sm2.pem").read_text()) is None  # another kiosk's
    rogue = Sm2SigningAuthority.create("govkiosk site SM2 signing CA").issue_reply(KIOSK)
    assert state(rogue.pem().decode()) is None  # same names, another CA
    assert state(tls_pem) is None  # an EC certificate is no SM2 reply certificate
    without = FleetView(site_ca)  # an operator not given --sm2-ca: SM2 replies are refused
    without.handle(
        f"kiosk/v1/{KIOSK}/state",
        json.dumps(
            {"cert": tls_pem, "reply_cert": (out / f"{KIOSK}-sm2.pem").read_text()}
        ).encode(),
        0.0,
    )
    assert without.row(KIOSK).reply_certificate is None


async def fleet_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> Tuple[int, str]:
    """``govkioskctl fleet …`` in a thread: it runs its own event loop, as from a shell."""

    def run() -> Tuple[int, str]:
        status = ctl.main(["fleet", *argv])
        return status, capsys.readouterr()[0]

    return await asyncio.get_running_loop().run_in_executor(None, run)


async def test_an_operator_checks_the_sm2_signed_reply_through_the_broker(
    site: Site, private_bus: PrivateBus, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ca_dir = tmp_path / "site-ca"
    site.ca.credential.write(ca_dir, "ca")  # the harness's site CA, as `fleet ca` keeps it
    out = tmp_path / "issued"
    issue(capsys, ca_dir, out, KIOSK)
    sm2_ca = out / "sm2-ca.pem"
    async with running_kiosk(
        site,
        tmp_path / "kiosk",
        private_bus.address,
        reply_algorithm="sm2-sm3",
        reply_key=str(out / f"{KIOSK}-sm2.key"),
        reply_cert=str(out / f"{KIOSK}-sm2.pem"),
    ) as kiosk:
        await kiosk.connected()
        async with FleetClient(site.identity("ops-admin", sm2_ca=sm2_ca)) as fleet:
            payloads: List[Tuple[str, bytes]] = []
            receive = fleet._on_reply

            def spy(kiosk_id: str, name: str, payload: bytes) -> None:
                payloads.append((name, payload))
                receive(kiosk_id, name, payload)

            fleet._on_reply = spy  # type: ignore[method-assign]
            replies = await fleet.run(
                site.signers["viewer"], [KIOSK], "status", {}, role="viewer", issuer="t",
                timeout=TIMEOUT,
            )  # fmt: skip
            reply = replies[KIOSK]
            assert reply is not None
            assert reply.status is Status.SUCCEEDED, reply.detail
            assert reply.result["kiosk"]["id"] == KIOSK
            assert certs.name(fleet.view.row(KIOSK).reply_certificate) == KIOSK
        # The same through `govkioskctl fleet send`: with --sm2-ca the reply is taken;
        # without it the SM2-signed reply is no answer at all.
        identity = site.identity("ops-admin")
        keys = tmp_path / "keys"
        keys.mkdir()
        viewer = site.signers["viewer"]
        (keys / f"{viewer.key_id}.key").write_bytes(viewer.private_pem())
        argv = [
            *("send", "--broker", f"{identity.host}:{identity.port}", "--ca", str(identity.ca)),
            *("--cert", str(identity.cert), "--key", str(identity.key), "--kiosk", KIOSK),
            *("--signing-key", str(keys / f"{viewer.key_id}.key"), "--role", "viewer"),
        ]
        status, printed = await fleet_cli(capsys, *argv, "--sm2-ca", str(sm2_ca), "status")
        assert status == 0
        assert printed.startswith(f"{KIOSK}: SUCCEEDED")
        status, printed = await fleet_cli(capsys, *argv, "--timeout", "2", "--json", "status")
        assert status == 3
        assert json.loads(printed) == {KIOSK: None}
    # Every reply on the wire was SM2, and an independent verifier (gmssl) agrees.
    assert payloads
    gmssl_sm2 = pytest.importorskip("gmssl.sm2")
    public = certs.public_key(certs.load_certificate((out / f"{KIOSK}-sm2.pem").read_bytes()))
    theirs = gmssl_sm2.CryptSM2(private_key="", public_key=public.to_bytes()[1:].hex())
    for name, payload in payloads:
        document = json.loads(payload)
        assert document["sig_alg"] == "sm2-sm3"
        r, s = sm2.decode_signature(base64.b64decode(document.pop("sig")))
        raw = sm2.encode_signature(r, s, der=False)
        assert theirs.verify_with_sm3(raw.hex(), signed_bytes(name, document))


def test_an_event_the_kiosk_vouches_for_is_sm2_signed_too(sm2_site) -> None:
    _, out, _ = sm2_site
    tls = load_certificate(out / f"{KIOSK}.crt")
    reply_cert = certs.load_certificate((out / f"{KIOSK}-sm2.pem").read_bytes())
    signer = KioskSigner(out / f"{KIOSK}.key", out / f"{KIOSK}-sm2.key")
    name = f"kiosk/v1/{KIOSK}/evt/acceptance"
    body = {"id": "a1", "kiosk_id": KIOSK, "name": "acceptance-2026.json", "report": "e30="}
    payload = signer.seal_document(name, body)
    assert open_document(payload, name, tls, "acceptance", sm2_certificate=reply_cert) == body
    with pytest.raises(EnvelopeError):
        open_document(payload, f"kiosk/v1/{KIOSK}/evt/alarm", tls, sm2_certificate=reply_cert)
