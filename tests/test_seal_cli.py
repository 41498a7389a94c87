"""``govkioskctl seal verify``: signature by signature, the kiosk's verdict as the exit
status (0 valid, 1 refused, 2 unreadable), JSON, and what a file says escaped for the
terminal. Run as the integrator runs it: the command in a child process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, Tuple

import pytest

from govkiosk.backends import demo_ofd
from govkiosk.backends.certificate import render
from govkiosk.backends.demo_authority import SealAuthority
from govkiosk.backends.demo_data import HOUSEHOLD_LICENCE, certificate_for
from govkiosk.backends.demo_sm2 import Sm2SealAuthority
from harness.departments import RETIRED, TODAY

FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "ofd"


def ctl(*args: str) -> Tuple[int, str, str]:
    done = subprocess.run(
        [sys.executable, "-m", "govkiosk.cli.main", "seal", "verify", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return done.returncode, done.stdout, done.stderr


class Files:
    def __init__(self, directory: Path, seal_name: str = "公安机关电子印章") -> None:
        self.directory = directory
        picture = demo_ofd.seal_picture("公安机关", "电子证照专用章")
        authority = Sm2SealAuthority(directory, {"police": (seal_name, picture)})
        _, cert = certificate_for(HOUSEHOLD_LICENCE, RETIRED, "230103", "GA1", TODAY)
        laid = demo_ofd.write(cert, doc_id="c" * 32, created=TODAY)
        files = demo_ofd.seal(
            laid,
            cert,
            doc_id="c" * 32,
            created=TODAY,
            seal_der=authority.holder("police").seal,
            signer=lambda xml, path: authority.sign("police", xml, path),
        )
        self.ofd = directory / "cert.ofd"
        self.ofd.write_bytes(demo_ofd.package(files))
        self.tampered = directory / "tampered.ofd"
        self.tampered.write_bytes(demo_ofd.package(demo_ofd.tamper(files, "content")))
        self.root = directory / "sm2-root.pem"
        department, paper = certificate_for("无犯罪记录证明", RETIRED, "230103", "GA2", TODAY)
        self.pdf = directory / "cert.pdf"
        self.pdf.write_bytes(SealAuthority(directory).seal(render(paper)[0], department, "t"))
        self.ca = directory / "ca.pem"


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Files:
    return Files(tmp_path_factory.mktemp("cli"))


def test_a_sealed_ofd_is_valid_signature_by_signature(files: Files) -> None:
    status, out, err = ctl(str(files.ofd), "--trusted", str(files.root))
    assert (status, err) == (0, "")
    assert "signature 1: valid" in out
    for line in (
        "format      ofd-ses SES v4 (GB/T 38540-2020)",
        "signer      公安机关电子印章",
        "seal        公安机关电子印章",
        "maker       演示电子印章制作中心",
        "digests     match",
        "signature   verifies",
        "trust       trusted",
        "time stamp  none",
    ):
        assert line in out
    assert "seal id" in out
    assert "validity" in out
    assert out.rstrip().endswith("VALID: the kiosk accepts this document")


def test_json_and_the_refusals(files: Files) -> None:
    status, out, _ = ctl(str(files.tampered), "--trusted", str(files.root), "--json")
    document: Dict[str, Any] = json.loads(out)
    assert status == 1
    assert (document["valid"], document["code"]) == (False, "seal.tampered")
    assert "Content.xml changed after sealing" in document["reason"]
    (signature,) = document["signatures"]
    assert (signature["digest_ok"], signature["valid"]) == (False, False)
    # A page changed under an intact Signature.xml: the seal still signed what it lists.
    assert signature["signature_ok"] is True
    # Without the SM2 root: a valid signature from an untrusted issuer.
    status, out, _ = ctl(str(files.ofd), "--trusted", str(files.ca), "--json")
    document = json.loads(out)
    assert (status, document["code"]) == (1, "seal.untrusted")
    (signature,) = document["signatures"]
    assert (signature["digest_ok"], signature["signature_ok"], signature["trusted"]) == (
        True,
        True,
        False,
    )
    assert signature["seal_name"] == "公安机关电子印章"


def test_without_a_configuration_everything_but_the_issuer_is_checked(files: Files) -> None:
    status, out, _ = ctl(str(files.ofd), "--no-trust", "--config", "/nonexistent.toml")
    assert status == 1
    for line in ("digests     match", "signature   verifies", "trust       NOT TRUSTED"):
        assert line in out
    assert "REFUSED (seal.untrusted)" in out
    status, out, _ = ctl(str(FIXTURES / "signedFile.ofd"), "--no-trust")
    assert status == 1
    assert "signature   verifies" in out
    assert "issued by '税务电子证书管理中心(SM2)', which is not a trusted seal authority" in out


def test_a_pades_pdf_and_a_seal_file(files: Files) -> None:
    status, out, _ = ctl(str(files.pdf), "--trusted", str(files.ca), "--trusted", str(files.root))
    assert status == 0
    assert "application/pdf, pades" in out
    status, out, _ = ctl(str(files.directory / "sm2-seal-police.esl"), "--trusted", str(files.root))
    assert status == 0
    assert "a seal on its own, SES v4 (GB/T 38540-2020)" in out
    status, out, _ = ctl(str(FIXTURES / "UserV4.esl"), "--trusted", str(files.root))
    assert status == 1
    assert "not a trusted seal authority" in out


def test_unreadable_files_exit_2(files: Files, tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.bin"
    garbage.write_bytes(b"hello, not a certificate")
    status, out, err = ctl(str(garbage), "--trusted", str(files.root))
    assert (status, out) == (2, "")
    assert "neither a PDF nor an OFD" in err
    status, _, err = ctl(str(tmp_path / "missing.ofd"), "--trusted", str(files.root))
    assert status == 2
    assert "No such file" in err
    status, _, err = ctl(str(files.ofd), "--trusted", str(tmp_path / "missing.pem"))
    assert status == 2
    assert "missing" in err


def test_what_the_file_says_is_escaped(tmp_path: Path) -> None:
    rogue = Files(tmp_path, seal_name="恶意\x1b[2J印章\x07")
    status, out, _ = ctl(str(rogue.ofd), "--trusted", str(rogue.root))
    assert status == 0
    assert "\x1b" not in out
    assert "\x07" not in out
    assert "恶意\\x1b[2J印章\\x07" in out
