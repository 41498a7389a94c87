"""OCSP through the seal verifier and ``govkioskctl seal verify --json``: a sealed OFD whose
SM2 seal authority answers OCSP on 127.0.0.1 — good, revoked, down under soft-fail and
hard-fail — with the configuration the kiosk reads (``[seal] ocsp_responders``)."""

from __future__ import annotations

import datetime
import json
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, Iterator, Tuple

import pytest

from govkiosk.backends import demo_ofd
from govkiosk.backends.demo_data import HOUSEHOLD_LICENCE, certificate_for
from govkiosk.backends.demo_sm2 import Sm2SealAuthority
from govkiosk.gm import certs
from govkiosk.security.sesverify import SesVerifier
from govkiosk.security.settings import SealSettings
from harness.departments import RETIRED, TODAY
from harness.ocspd import Responder


@pytest.fixture(scope="module")
def sealed(tmp_path_factory: pytest.TempPathFactory) -> Tuple[Path, Sm2SealAuthority]:
    directory = tmp_path_factory.mktemp("ocsp")
    picture = demo_ofd.seal_picture("公安机关", "电子证照专用章")
    authority = Sm2SealAuthority(directory, {"police": ("公安机关电子印章", picture)})
    _, cert = certificate_for(HOUSEHOLD_LICENCE, RETIRED, "230103", "GA1", TODAY)
    laid = demo_ofd.write(cert, doc_id="d" * 32, created=TODAY)
    files = demo_ofd.seal(
        laid,
        cert,
        doc_id="d" * 32,
        created=TODAY,
        seal_der=authority.holder("police").seal,
        signer=lambda xml, path: authority.sign("police", xml, path),
    )
    ofd = directory / "cert.ofd"
    ofd.write_bytes(demo_ofd.package(files))
    return ofd, authority


@pytest.fixture
def responder(sealed) -> Iterator[Responder]:
    ofd, authority = sealed
    root = certs.TestAuthority.in_directory(ofd.parent, organization="演示电子印章管理中心")
    with Responder(root).know(authority.holder("police").signer, authority.maker_issued) as running:
        yield running


def config(directory: Path, url: str, policy: str) -> Path:
    path = directory / f"govkiosk-{policy}.toml"
    path.write_text(
        '[kiosk]\nid = "hlj-0001"\n[seal]\n'
        f'trusted = ["{directory / "sm2-root.pem"}"]\n'
        f'ocsp_responders = ["{url}"]\nrevocation = "{policy}"\ncrl_timeout = 5.0\n',
        encoding="utf-8",
    )
    return path


def verify(ofd: Path, configuration: Path) -> Tuple[int, Dict[str, Any]]:
    done = subprocess.run(
        [
            *(sys.executable, "-m", "govkiosk.cli.main", "seal", "verify", str(ofd)),
            *("--config", str(configuration), "--json"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.stderr == ""
    return done.returncode, json.loads(done.stdout)


def test_a_good_ocsp_answer_is_shown_and_the_document_accepted(sealed, responder) -> None:
    ofd, _ = sealed
    status, document = verify(ofd, config(ofd.parent, responder.url, "hard-fail"))
    assert (status, document["valid"]) == (0, True)
    (signature,) = document["signatures"]
    assert signature["trusted"] is True
    assert f"公安机关电子印章: OCSP good ({responder.url})" in signature["notes"]
    assert f"演示电子印章制作中心: OCSP good ({responder.url})" in signature["notes"]


def test_a_revoked_signer_is_refused_with_the_ocsp_verdict(sealed, responder) -> None:
    ofd, _ = sealed
    responder.mode = "revoked"
    status, document = verify(ofd, config(ofd.parent, responder.url, "soft-fail"))
    assert (status, document["code"]) == (1, "seal.revoked")
    (signature,) = document["signatures"]
    assert f"the certificate is revoked (OCSP {responder.url})" in signature["problem"]
    assert any("OCSP revoked" in note for note in signature["notes"])


def test_a_responder_down_is_soft_fail_accepted_and_hard_fail_refused(sealed) -> None:
    ofd, _ = sealed
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}/ocsp"
    status, document = verify(ofd, config(ofd.parent, url, "soft-fail"))
    assert (status, document["valid"]) == (0, True)
    notes = document["signatures"][0]["notes"]
    assert any("revocation not checked" in n and "unreachable" in n for n in notes)
    status, document = verify(ofd, config(ofd.parent, url, "hard-fail"))
    assert (status, document["code"]) == (1, "seal.untrusted")
    assert "revocation status unknown (OCSP" in document["signatures"][0]["problem"]


def test_the_verifier_the_kiosk_builds_asks_the_configured_responder(sealed, responder) -> None:
    ofd, authority = sealed
    settings = SealSettings(
        trusted=(str(ofd.parent / "sm2-root.pem"),),
        ocsp_responders=(responder.url,),
        revocation="hard-fail",
    )
    verifier = SesVerifier.from_settings(settings)
    signer = authority.holder("police").signer.certificate
    now = datetime.datetime.now(datetime.timezone.utc)
    assert verifier.chain(signer, now)[:3] == (True, "trusted", "trusted")
    responder.mode = "wrong-nonce"
    fresh = SesVerifier.from_settings(settings)
    trusted, trust, kind, _ = fresh.chain(signer, now)
    assert (trusted, kind) == (False, "revocation")
    assert "nonce is not the one asked with" in trust
