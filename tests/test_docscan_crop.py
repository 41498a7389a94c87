"""``govkioskctl camera crop`` end to end on generated photos, and the ``[docscan]`` section."""

from __future__ import annotations

import json
import random
import re
import subprocess
import sys
from pathlib import Path
from typing import Tuple

import cv2
import numpy as np
import pytest

from govkiosk.cli.main import main
from govkiosk.config import load_config
from govkiosk.docscan import synthetic
from govkiosk.docscan.quad import Quad, corner_error
from govkiosk.docscan.settings import DocScanSettings
from govkiosk.tables import ConfigError

CTL = "import sys; from govkiosk.cli.main import main; sys.exit(main())"


@pytest.fixture(scope="module")
def photo(tmp_path_factory: pytest.TempPathFactory) -> Tuple[Path, Quad]:
    """A photo of a page on a desk, as a camera or phone would save it, and its corners."""
    frame, truth = synthetic.page_scene(random.Random(31), fingers=1, shadow=0.3)
    path = tmp_path_factory.mktemp("photos") / "page.jpg"
    assert cv2.imwrite(str(path), frame, [cv2.IMWRITE_JPEG_QUALITY, 92])
    return path, truth


def crop(*argv: str, capsys: pytest.CaptureFixture[str]) -> Tuple[int, str, str]:
    capsys.readouterr()
    try:
        status = main(["camera", "crop", *argv])
    except SystemExit as exit:  # argparse: usage errors
        status = int(exit.code or 0)
    out, err = capsys.readouterr()
    return status, out, err


@pytest.mark.timeout(60)
def test_crop_to_pdf_in_its_own_process(photo: Tuple[Path, Quad], tmp_path: Path) -> None:
    image, truth = photo
    out = tmp_path / "scan.pdf"
    done = subprocess.run(
        [sys.executable, "-c", CTL, "camera", "crop", str(image), "--out", str(out), "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["output"] == str(out)
    assert report["format"] == "pdf"
    assert report["size"] == [1240, 1754]
    corners = [report["corners"][name] for name in ("tl", "tr", "br", "bl")]
    assert corner_error(Quad.from_points(corners), truth) <= 0.01
    info = subprocess.run(
        ["pdfinfo", str(out)], capture_output=True, text=True, check=True, timeout=30
    ).stdout
    assert re.search(r"^Pages:\s+1$", info, re.M)
    assert "595.276 x 841.89 pts (A4)" in info


def test_crop_to_jpeg_and_png(
    photo: Tuple[Path, Quad], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    image, _truth = photo
    status, out, err = crop(
        str(image), "--out", str(tmp_path / "scan.JPG"), "--width", "800", capsys=capsys
    )
    assert status == 0, err
    assert re.search(r"^  tl +\d+\.\d +\d+\.\d$", out, re.M)
    assert f"written: {tmp_path / 'scan.JPG'} (jpeg, 800×1131 px)" in out
    page = cv2.imread(str(tmp_path / "scan.JPG"), cv2.IMREAD_UNCHANGED)
    assert page.shape == (1131, 800, 3)
    assert np.median(page) >= 245  # whitened
    status, _, err = crop(
        str(image), "--out", str(tmp_path / "scan.png"), "--grey", "--paper", "A5", capsys=capsys
    )
    assert status == 0, err
    grey = cv2.imread(str(tmp_path / "scan.png"), cv2.IMREAD_UNCHANGED)
    assert grey.shape == (1759, 1240)  # one channel, A5's aspect


def test_no_page_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    desk = tmp_path / "desk.png"
    assert cv2.imwrite(str(desk), synthetic.empty_desk(random.Random(2), desk="wood"))
    status, out, err = crop(str(desk), "--out", str(tmp_path / "x.pdf"), "--json", capsys=capsys)
    assert status == 1
    assert out == ""
    assert err == f"govkioskctl camera crop: no page found in {desk}\n"
    assert not (tmp_path / "x.pdf").exists()


def test_unreadable_photos_are_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = tmp_path / "notes.jpg"
    text.write_text("not a photo", encoding="utf-8")
    status, _, err = crop(str(text), "--out", str(tmp_path / "x.pdf"), capsys=capsys)
    assert (status, err) == (
        1,
        f"govkioskctl camera crop: cannot read {text}: not an image this tool can decode\n",
    )
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    status, _, err = crop(str(empty), "--out", str(tmp_path / "x.pdf"), capsys=capsys)
    assert status == 1
    assert "not an image" in err
    missing = tmp_path / "missing.jpg"
    status, _, err = crop(str(missing), "--out", str(tmp_path / "x.pdf"), capsys=capsys)
    assert (status, err) == (
        1,
        f"govkioskctl camera crop: cannot read {missing}: No such file or directory\n",
    )


def test_unwritable_output_is_an_error(
    photo: Tuple[Path, Quad], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    image, _ = photo
    target = tmp_path / "no-such-dir" / "scan.pdf"
    status, _, err = crop(str(image), "--out", str(target), capsys=capsys)
    assert (status, err) == (
        1,
        f"govkioskctl camera crop: cannot write {target}: No such file or directory\n",
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--out", "scan.tiff"], "--out must end in .pdf, .jpg, .jpeg, .png: scan.tiff"),
        (
            ["--out", "scan.pdf", "--width", "100"],
            "--width must be between 600 and 5000 pixels, got 100",
        ),
    ],
)
def test_bad_command_lines_exit_2(
    photo: Tuple[Path, Quad], argv: list, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _, err = crop(str(photo[0]), *argv, capsys=capsys)
    assert (status, err) == (2, f"govkioskctl camera crop: {message}\n")
    status, _, err = crop(str(photo[0]), "--paper", "A3", "--out", "x.pdf", capsys=capsys)
    assert status == 2
    assert "invalid choice: 'A3'" in err
    status, _, err = crop(str(photo[0]), capsys=capsys)
    assert status == 2
    assert "--out" in err


# -- the [docscan] section --------------------------------------------------------------


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_the_section_is_read_and_has_defaults(tmp_path: Path) -> None:
    plain = load_config(write(tmp_path / "a.toml", '[kiosk]\nid = "hlj-0001"\n'))
    assert plain.docscan == DocScanSettings()
    assert (plain.docscan.width, plain.docscan.paper, plain.docscan.format) == (1240, "A4", "pdf")
    assert (plain.docscan.steady_hold, plain.docscan.steady_tolerance) == (0.8, 0.01)
    config = load_config(
        write(
            tmp_path / "b.toml",
            '[kiosk]\nid = "hlj-0001"\n[docscan]\nwidth = 2480\npaper = "B5"\nformat = "jpeg"\n'
            "colour = false\nsteady_hold = 1.2\nsteady_tolerance = 0.02\n",
        )
    )
    assert config.docscan == DocScanSettings(
        width=2480, paper="B5", format="jpeg", colour=False, steady_hold=1.2, steady_tolerance=0.02
    )


def test_bad_values_are_named(tmp_path: Path) -> None:
    path = write(
        tmp_path / "c.toml",
        '[kiosk]\nid = "hlj-0001"\n[docscan]\nwidth = 100\npaper = "A3"\nformat = "tiff"\n'
        'steady_tolerance = 0.9\njpeg_quality = 101\ncolour = "yes"\n',
    )
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert [str(p) for p in caught.value.problems] == [
        "c.toml: docscan.width: expected a whole number of pixels between 600 and 5000, got 100",
        'c.toml: docscan.paper: expected one of A4, A5, B5, letter, got "A3"',
        'c.toml: docscan.format: expected "pdf" or "jpeg" or "png", got "tiff"',
        'c.toml: docscan.colour: expected true or false, got "yes"',
        "c.toml: docscan.jpeg_quality: expected a whole number between 30 and 100, got 101",
        "c.toml: docscan.steady_tolerance: expected a share of the page's diagonal, > 0 and at most 0.5, got 0.9",
    ]
