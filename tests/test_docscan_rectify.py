"""From frame and corners to a legible page (docscan/rectify.py, docscan/pdf.py): the paper's
aspect, a warped pattern made square again, deskew, whitening that keeps a red seal red, and
encodings that OpenCV and poppler read back."""

from __future__ import annotations

import random
import re
import subprocess
from pathlib import Path
from typing import Tuple

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from govkiosk.docscan import synthetic
from govkiosk.docscan.errors import EncodeError, FormatError, QuadError
from govkiosk.docscan.page import find_page
from govkiosk.docscan.pdf import jpeg_page
from govkiosk.docscan.quad import Quad
from govkiosk.docscan.rectify import correct, deskew, encode, rectify, skew_angle, whiten

#: A checkerboard page: 6 × 9 squares of 100 px in the middle of a white A4 page (840 × 1188).
PAGE = (840, 1188)
SQUARE = 100
BOARD = (6, 9)


def checkerboard_page() -> np.ndarray:
    width, height = PAGE
    page = np.full((height, width, 3), 245, np.uint8)
    x0 = (width - BOARD[0] * SQUARE) // 2
    y0 = (height - BOARD[1] * SQUARE) // 2
    for row in range(BOARD[1]):
        for col in range(BOARD[0]):
            if (row + col) % 2 == 0:
                page[
                    y0 + row * SQUARE : y0 + (row + 1) * SQUARE,
                    x0 + col * SQUARE : x0 + (col + 1) * SQUARE,
                ] = 30
    return page


def on_desk(
    page: np.ndarray, corners: np.ndarray, size: Tuple[int, int] = (1920, 1080)
) -> np.ndarray:
    """``page`` seen on a wood-coloured desk with its corners at ``corners``."""
    height, width = page.shape[:2]
    frame = np.empty((size[1], size[0], 3), np.uint8)
    frame[:] = (60, 110, 160)
    source = np.float32([[0, 0], [width - 1, 0], [width - 1, height - 1], [0, height - 1]])
    matrix = cv2.getPerspectiveTransform(source, corners.astype(np.float32))
    cv2.warpPerspective(
        page, matrix, size, dst=frame, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_TRANSPARENT
    )
    return frame


TILTED = np.array([[700, 150], [1300, 200], [1350, 980], [640, 930]], float)


def board_corners(image: np.ndarray) -> np.ndarray:
    grey = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    found, corners = cv2.findChessboardCornersSB(grey, (BOARD[0] - 1, BOARD[1] - 1))
    assert found
    grid = corners.reshape(BOARD[1] - 1, BOARD[0] - 1, 2)
    if grid[0, 0, 1] > grid[-1, -1, 1]:  # OpenCV may start from the far corner
        grid = grid[::-1, ::-1]
    return grid


def test_a_warped_checkerboard_comes_out_square_and_level() -> None:
    frame = on_desk(checkerboard_page(), TILTED)
    flat = rectify(frame, Quad.from_points(TILTED), trim=0.0)
    assert flat.shape == (1754, 1240, 3)  # A4 at 1240 px across
    grid = board_corners(flat)
    assert grid[:, :, 1].std(axis=1).max() < 0.6  # each row of corners level
    assert grid[:, :, 0].std(axis=0).max() < 0.6  # each column upright
    scale = 1240 / PAGE[0]
    steps = np.concatenate(
        [np.diff(grid[:, :, 0], axis=1).ravel(), np.diff(grid[:, :, 1], axis=0).ravel()]
    )
    assert np.abs(steps - SQUARE * scale).max() < 1.5  # squares stay square
    first = ((PAGE[0] - BOARD[0] * SQUARE) / 2 + SQUARE) * scale - 0.5
    assert grid[0, 0, 0] == pytest.approx(first, abs=1.5)


def test_the_found_page_rectifies_the_checkerboard_too() -> None:
    frame = on_desk(checkerboard_page(), TILTED)
    found = find_page(frame)
    assert found is not None
    grid = board_corners(rectify(frame, found))
    assert grid[:, :, 1].std(axis=1).max() < 1.0
    assert grid[:, :, 0].std(axis=0).max() < 1.0


@pytest.mark.parametrize(
    ("paper", "width", "landscape", "shape"),
    [
        ("A4", 1240, False, (1754, 1240, 3)),
        ("A4", 1240, True, (1240, 1754, 3)),
        ("A4", 620, False, (877, 620, 3)),
        ("A5", 1240, False, (1759, 1240, 3)),
        ("B5", 1000, True, (1000, 1420, 3)),
        ("letter", 1275, False, (1650, 1275, 3)),
    ],
)
def test_the_output_has_the_papers_aspect_and_orientation(
    paper: str, width: int, landscape: bool, shape: Tuple[int, int, int]
) -> None:
    frame, truth = synthetic.page_scene(random.Random(3), landscape=landscape, fingers=0)
    assert rectify(frame, truth, paper, width).shape == shape


def test_rectify_refuses_what_it_cannot_do() -> None:
    frame, truth = synthetic.page_scene(random.Random(3), fingers=0)
    with pytest.raises(FormatError, match="unknown paper 'A3'"):
        rectify(frame, truth, "A3")
    with pytest.raises(FormatError, match="between 16 and 10000"):
        rectify(frame, truth, "A4", 0)
    bowtie = Quad((0.0, 0.0), (100.0, 100.0), (100.0, 0.0), (0.0, 100.0))
    with pytest.raises(QuadError):
        rectify(frame, bowtie)


@pytest.mark.parametrize("angle", [-4.0, -1.5, 0.0, 2.0, 4.5])
def test_deskew_levels_text_lines(angle: float) -> None:
    page = synthetic.page_image(random.Random(3))
    height, width = page.shape[:2]
    matrix = cv2.getRotationMatrix2D(((width - 1) / 2, (height - 1) / 2), angle, 1.0)
    turned = cv2.warpAffine(page, matrix, (width, height), borderMode=cv2.BORDER_REPLICATE)
    assert skew_angle(turned) == pytest.approx(-angle, abs=0.15)  # lines running down-right: +
    assert abs(skew_angle(deskew(turned))) <= 0.15


def test_deskew_leaves_a_blank_page_alone() -> None:
    blank = np.full((600, 400, 3), 240, np.uint8)
    assert skew_angle(blank) == 0.0
    assert deskew(blank) is blank


def shaded_page() -> Tuple[np.ndarray, np.ndarray]:
    """A page under uneven, warm light, and the page itself."""
    page = synthetic.page_image(random.Random(9))
    height, width = page.shape[:2]
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    light = 0.55 + 0.4 * xs / width + 0.05 * ys / height  # dim on the left
    cast = np.array([0.85, 0.95, 1.0], np.float32)  # warm lamp: less blue
    shaded = np.clip(page.astype(np.float32) * light[:, :, None] * cast, 0, 255).astype(np.uint8)
    return shaded, page


def test_whiten_makes_paper_white_keeps_ink_dark_and_the_seal_red() -> None:
    shaded, page = shaded_page()
    white = whiten(shaded)
    paper = page.min(axis=2) >= 230
    ink = page.max(axis=2) <= 80
    seal = (page[:, :, 2].astype(int) - page[:, :, :2].max(axis=2)) > 80
    assert paper.mean() > 0.5
    assert ink.sum() > 1000
    assert seal.sum() > 1000
    assert np.median(white[paper], axis=0).min() >= 250  # white on the dim side too
    assert np.percentile(white[paper].min(axis=1), 5) >= 220
    assert white[ink].mean() < 90
    red = white[seal].astype(int)
    assert np.median(red[:, 2]) >= 180  # still red …
    assert np.median(red[:, 2] - red[:, :2].max(axis=1)) >= 100  # … not grey mush
    hue = cv2.cvtColor(white, cv2.COLOR_BGR2HSV)[seal][:, 0]
    assert np.mean((hue <= 10) | (hue >= 170)) > 0.9


def test_whiten_grey_gives_one_channel() -> None:
    shaded, page = shaded_page()
    grey = whiten(shaded, colour=False)
    assert grey.shape == page.shape[:2]
    assert np.median(grey[page.min(axis=2) >= 230]) >= 250


def test_correct_runs_the_whole_chain() -> None:
    frame, truth = synthetic.page_scene(random.Random(21), fingers=0, shadow=0.4)
    page = correct(frame, truth, width=620)
    assert page.shape == (877, 620, 3)
    assert np.median(page) >= 250  # mostly white paper
    assert correct(frame, truth, width=620, colour=False, straighten=False).shape == (877, 620)


# -- encodings ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def page() -> np.ndarray:
    frame, truth = synthetic.page_scene(random.Random(4), fingers=0)
    return correct(frame, truth, width=620)


def test_jpeg_and_png_decode_back(page: np.ndarray) -> None:
    jpeg = encode(page, "jpeg", quality=90)
    assert jpeg[:3] == b"\xff\xd8\xff"
    decoded = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert decoded.shape == page.shape
    assert np.abs(decoded.astype(int) - page).mean() < 3
    png = encode(page, "png")
    assert (cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_UNCHANGED) == page).all()
    assert encode(page, "jpg")[:3] == b"\xff\xd8\xff"


def pdfinfo(path: Path) -> str:
    return subprocess.run(
        ["pdfinfo", str(path)], capture_output=True, text=True, check=True, timeout=30
    ).stdout


def rendered(path: Path, out: Path) -> np.ndarray:
    subprocess.run(
        ["pdftoppm", "-r", "40", "-png", "-singlefile", str(path), str(out)],
        check=True,
        timeout=30,
        capture_output=True,
    )
    image = cv2.imread(str(out) + ".png", cv2.IMREAD_COLOR)
    assert image is not None
    return image


@pytest.mark.parametrize("grey", [False, True], ids=["colour", "grey"])
def test_pdf_is_one_a4_page_poppler_reads_and_renders(
    page: np.ndarray, grey: bool, tmp_path: Path
) -> None:
    image = cv2.cvtColor(page, cv2.COLOR_BGR2GRAY) if grey else page
    path = tmp_path / "page.pdf"
    path.write_bytes(encode(image, "pdf"))
    info = pdfinfo(path)
    assert re.search(r"^Pages:\s+1$", info, re.M)
    assert re.search(r"^Page size:\s+595\.276 x 841\.89 pts \(A4\)$", info, re.M)
    shown = rendered(path, tmp_path / "shown")  # 40 dpi: 331 × 468
    assert abs(shown.shape[1] - 331) <= 1
    assert abs(shown.shape[0] - 468) <= 1
    expected = cv2.resize(page, (shown.shape[1], shown.shape[0]), interpolation=cv2.INTER_AREA)
    if grey:
        expected = cv2.cvtColor(cv2.cvtColor(expected, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
    assert np.abs(shown.astype(int) - expected).mean() < 8  # right way up, not mirrored
    seal = (shown[:, :, 2].astype(int) - shown[:, :, :2].max(axis=2)) > 60
    if grey:
        assert not seal.any()
    else:  # the seal sits in the bottom right quarter of the page
        ys, xs = np.nonzero(seal)
        assert ys.mean() > shown.shape[0] / 2
        assert xs.mean() > shown.shape[1] / 2


def test_a_landscape_page_makes_a_landscape_pdf(tmp_path: Path) -> None:
    frame, truth = synthetic.page_scene(random.Random(8), landscape=True, fingers=0)
    path = tmp_path / "wide.pdf"
    path.write_bytes(encode(correct(frame, truth, width=620), "pdf"))
    assert re.search(r"^Page size:\s+841\.89 x 595\.276 pts \(A4\)$", pdfinfo(path), re.M)


def test_a_non_a4_image_is_fitted_on_the_page_and_other_papers_are_honoured(
    tmp_path: Path,
) -> None:
    square = np.full((300, 300, 3), 200, np.uint8)
    path = tmp_path / "square.pdf"
    path.write_bytes(encode(square, "pdf", paper="A5"))
    assert re.search(r"^Page size:\s+419\.528 x 595\.276 pts", pdfinfo(path), re.M)


def test_encode_refuses_what_it_cannot_write(page: np.ndarray) -> None:
    with pytest.raises(FormatError, match="unknown format 'tiff'"):
        encode(page, "tiff")
    with pytest.raises(FormatError, match="JPEG quality"):
        encode(page, "jpeg", quality=0)
    with pytest.raises(FormatError, match="unknown paper"):
        encode(page, "pdf", paper="A0")
    with pytest.raises(EncodeError):
        encode(page.astype(np.float32), "pdf")
    with pytest.raises(EncodeError):
        encode(np.zeros((0, 0, 3), np.uint8), "png")


@settings(max_examples=100, deadline=None)
@given(
    st.integers(1, 20000),
    st.integers(1, 20000),
    st.booleans(),
    st.binary(min_size=0, max_size=300),
    st.tuples(st.floats(10, 2000), st.floats(10, 2000)),
)
def test_pdf_cross_references_point_at_their_objects(
    width: int, height: int, grey: bool, payload: bytes, page_mm: Tuple[float, float]
) -> None:
    document = jpeg_page(payload, (width, height), grey=grey, page_mm=page_mm)
    assert document.startswith(b"%PDF-1.4\n")
    assert document.endswith(b"%%EOF\n")
    start = int(document.rsplit(b"startxref\n", 1)[1].split(b"\n")[0])
    assert document[start:].startswith(b"xref\n0 6\n")
    rows = document[start:].split(b"\n")[3:8]
    for number, row in enumerate(rows, start=1):
        assert len(row) == 19
        assert row.endswith(b" 00000 n ")
        offset = int(row[:10])
        assert document[offset:].startswith(b"%d 0 obj\n" % number)
    assert b"/Length %d >>\nstream\n" % len(payload) + payload + b"\nendstream" in document
    assert (b"/DeviceGray" in document) == grey


def test_pdf_refuses_an_empty_image() -> None:
    with pytest.raises(ValueError, match="must have a size"):
        jpeg_page(b"", (0, 10), grey=False, page_mm=(210, 297))
