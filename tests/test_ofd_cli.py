"""``govkioskctl ofd info`` and ``govkioskctl ofd render`` on the fixtures, as a real process;
and an OFD certificate printed through a real cupsd."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import List

import cv2
import pytest

from govkiosk.bus import EventBus
from govkiosk.cli import ofd as ofdctl
from govkiosk.ofd.model import read_ofd
from govkiosk.ofd.render import render_pdf, stamps_for
from govkiosk.ofd.signatures import check_signatures
from govkiosk.printing.a4 import A4Job
from govkiosk.printing.cups_printer import CupsPrinter
from harness.cups import CupsServer
from harness.ofdfiles import OFD_FIXTURES, fixture, rebuild, seal_picture

REPO = Path(__file__).resolve().parent.parent


def _govkioskctl(args: List[str]) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO / "daemon"), env.get("PYTHONPATH", "")])
    return subprocess.run(
        [sys.executable, "-m", "govkiosk.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )


def test_render_writes_one_png_per_page(tmp_path: Path) -> None:
    out = tmp_path / "pages"
    done = _govkioskctl(
        ["ofd", "render", str(OFD_FIXTURES / "containsJPEG.ofd"), "--out", str(out), "--dpi", "72"]
    )
    assert done.returncode == 0, done.stderr
    pages = sorted(p.name for p in out.iterdir())
    assert pages == ["page-001.png", "page-002.png"]
    image = cv2.imread(str(out / "page-001.png"))
    assert image.shape == (round(296.9381 * 72 / 25.4), round(209.9623 * 72 / 25.4), 3)
    assert "page-002.png  595×842" in done.stdout


def test_render_with_a_seal_picture_and_a_note_for_what_is_not_drawn(tmp_path: Path) -> None:
    seal = tmp_path / "seal.png"
    seal.write_bytes(seal_picture())
    out = tmp_path / "pages"
    status = ofdctl.main(
        [
            "render",
            str(OFD_FIXTURES / "signedFile.ofd"),
            "--out",
            str(out),
            "--dpi",
            "100",
            "--seal",
            str(seal),
        ]
    )
    assert status == 0
    image = cv2.imread(str(out / "page-001.png"))
    px = 100 / 25.4
    # the stamp at 90 8 30 20 mm: red pixels inside it
    box = image[round(8 * px) : round(28 * px), round(90 * px) : round(120 * px)]
    red = (box[..., 2] > 180) & (box[..., 1] < 120) & (box[..., 0] < 120)
    assert red.sum() > 200


def test_render_refuses_a_bad_resolution(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = ofdctl.main(
        ["render", str(OFD_FIXTURES / "helloworld.ofd"), "--out", str(tmp_path), "--dpi", "9000"]
    )
    assert status == ofdctl.EXIT_USAGE
    assert "--dpi must be between" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_info_lists_pages_fonts_and_checks_signatures() -> None:
    done = _govkioskctl(["ofd", "info", str(OFD_FIXTURES / "signedFile.ofd"), "--json"])
    assert done.returncode == 0, done.stderr
    info = json.loads(done.stdout)
    assert info["pages"] == [{"index": 1, "id": "1", "width_mm": 210.0, "height_mm": 140.0}]
    assert {f["name"] for f in info["fonts"]} == {"楷体", "KaiTi", "宋体", "Courier New"}
    (signature,) = info["signatures"]
    assert signature["files"] == "ok"
    assert signature["digest"] == "1.2.156.10197.1.401"
    assert signature["stamps"] == [{"page": "1", "boundary": [90.0, 8.0, 30.0, 20.0]}]


def test_info_fails_on_a_changed_document(tmp_path: Path) -> None:
    table = _govkioskctl(["ofd", "info", str(OFD_FIXTURES / "keyword.ofd")])
    assert table.returncode == 1
    assert "protected file OFD.xml was changed" in table.stdout
    assert "宋体" in table.stdout
    assert "yes" in table.stdout


def test_unreadable_and_hostile_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert ofdctl.main(["info", str(tmp_path / "missing.ofd")]) == ofdctl.EXIT_USAGE
    hostile = tmp_path / "hostile.ofd"
    hostile.write_bytes(
        rebuild(
            fixture("helloworld"),
            replace={"OFD.xml": b'<!DOCTYPE x [<!ENTITY a "\x1b[2J">]><OFD>&a;</OFD>'},
        )
    )
    assert ofdctl.main(["info", str(hostile)]) == ofdctl.EXIT_FAILED
    err = capsys.readouterr().err
    assert "declaration is not allowed" in err
    assert "\x1b" not in err


async def test_a_sealed_ofd_prints_through_cups_as_a_pdf(cupsd: CupsServer) -> None:
    """The kiosk's A4 path (CupsPrinter, which sends PDF) prints an OFD certificate:
    rendered at 300 dpi with its seal picture, wrapped as an image PDF."""
    document = read_ofd(fixture("SESV4SignDoc"))
    (parts,) = check_signatures(document)
    pdf = render_pdf(document, 300, stamps_for(parts.stamp_annots, seal_picture()))
    printer = CupsPrinter(EventBus(), cupsd.queue, str(cupsd.socket))
    done: List[float] = []
    try:
        job = A4Job("ofd-certificate", bytearray(pdf))
        await printer.print(job, done.append, 30.0)
    finally:
        printer.close()
    assert job.printed
    assert list(cupsd.captured_jobs().values()) == [bytes(pdf)]
    assert done
    assert done[-1] == 1.0
