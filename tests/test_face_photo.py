"""The card photo's decoders: the vendor library through ctypes (a stand-in built with cc),
BMP, the simulator's encoding; the configuration checks; ``sim idcard --photo``."""

from __future__ import annotations

import random
import struct
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from govkiosk.app import main as govkioskd
from govkiosk.config import load_config
from govkiosk.devices.idcard import simphoto
from govkiosk.devices.idcard.cardtext import PHOTO_SIZE, parse_identity
from govkiosk.devices.idcard.sim import Console, SimulatedReader
from govkiosk.devices.idcard.sim import main as sim_idcard
from govkiosk.faceverify import checks
from govkiosk.faceverify.errors import PhotoError
from govkiosk.faceverify.photo import (
    BmpDecoder,
    NoDecoder,
    SimulatedDecoder,
    VendorLibraryDecoder,
    decoder_for,
    parse_bmp,
)
from govkiosk.faceverify.settings import FaceSettings
from govkiosk.tables import ConfigError
from harness.faces import bmp_header, photo, vendor_library

PIXELS = np.arange(126 * 102 * 3, dtype=np.uint32).reshape(126, 102, 3).astype(np.uint8)


def bmp(pixels: np.ndarray) -> bytes:
    """A 24-bit bottom-up BMP, as Windows and the vendor SDKs write them."""
    height, width = pixels.shape[:2]
    stride = (width * 3 + 3) & ~3
    rows = [pixels[r].tobytes() + bytes(stride - width * 3) for r in range(height - 1, -1, -1)]
    return bmp_header(width, height) + b"".join(rows)


@pytest.fixture(scope="module")
def stub(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return vendor_library(tmp_path_factory.mktemp("vendor"), PIXELS)


# --- BMP -------------------------------------------------------------------------------------


def test_a_bottom_up_bmp_reads_top_row_first() -> None:
    data = bmp(PIXELS)
    assert len(data) == 38862  # the size the vendor SDKs document
    assert np.array_equal(BmpDecoder().decode(data), PIXELS)


def test_a_top_down_bmp_and_a_v5_header() -> None:
    pixels = PIXELS[:3, :5].copy()
    data = bytearray(bmp(pixels[::-1]))  # rows stored top row first…
    struct.pack_into("<i", data, 22, -3)  # …which a negative height says
    assert np.array_equal(parse_bmp(bytes(data)), pixels)
    v5 = bytearray(bmp(pixels))
    struct.pack_into("<I", v5, 10, 14 + 124)  # pixels after a 124-byte BITMAPV5HEADER
    struct.pack_into("<I", v5, 14, 124)
    v5[54:54] = bytes(124 - 40)
    struct.pack_into("<I", v5, 2, len(v5))
    assert np.array_equal(parse_bmp(bytes(v5)), pixels)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d[:30], "fewer than a BMP header"),
        (lambda d: b"PK" + d[2:], "does not start with 'BM'"),
        (lambda d: d[:14] + struct.pack("<I", 12) + d[18:], "not a Windows BMP"),
        (lambda d: d[:28] + struct.pack("<H", 8) + d[30:], "only 24-bit uncompressed"),
        (lambda d: d[:30] + struct.pack("<I", 1) + d[34:], "only 24-bit uncompressed"),
        (lambda d: d[:18] + struct.pack("<i", 0) + d[22:], "not a photo's size"),
        (lambda d: d[:18] + struct.pack("<i", 5000) + d[22:], "not a photo's size"),
        (lambda d: d[:-10], "do not fit"),
        (lambda d: d[:2] + struct.pack("<I", len(d) + 5) + d[6:], "header says"),
    ],
)
def test_anything_but_a_24_bit_bmp_is_refused(change, message: str) -> None:
    with pytest.raises(PhotoError, match=message):
        parse_bmp(change(bmp(PIXELS)))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_bmp_fuzz_random_bytes(data: bytes) -> None:
    try:
        image = parse_bmp(b"BM" + data)
    except PhotoError:
        return
    assert image.dtype == np.uint8
    assert image.ndim == 3


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 60), st.integers(0, 255)), min_size=1, max_size=8))
def test_bmp_fuzz_mutated_headers(edits) -> None:
    data = bytearray(bmp(PIXELS[:7, :9]))
    for offset, value in edits:
        data[offset] = value
    try:
        image = parse_bmp(bytes(data))
    except PhotoError:
        return
    assert image.shape[2] == 3
    assert 0 < image.shape[0] * image.shape[1] * 3 <= len(data)


# --- the simulator's photos ------------------------------------------------------------------


def test_a_simulated_photo_is_a_card_photo_in_1024_bytes() -> None:
    blob = simphoto.encode(photo("obama.jpg"))
    assert len(blob) == PHOTO_SIZE
    assert simphoto.is_simulated(blob)
    image = SimulatedDecoder().decode(blob)
    assert image.shape == (126, 102, 3)
    # What comes back is the encoded card photo, with compression's losses only.
    framed = simphoto.card_photo(photo("obama.jpg")).astype(float)
    assert np.abs(image.astype(float) - framed).mean() < 12


def test_a_photo_without_a_face_is_framed_from_its_middle() -> None:
    blank = np.full((300, 200, 3), 128, np.uint8)
    assert simphoto.find_face(blank) is None
    assert SimulatedDecoder().decode(simphoto.encode(blank)).shape == (126, 102, 3)


def test_the_simulated_decoder_refuses_real_wlt_and_damage() -> None:
    blob = bytearray(simphoto.encode(photo("biden.jpg")))
    wlt = bytes(random.Random(1).getrandbits(8) for _ in range(PHOTO_SIZE))
    with pytest.raises(PhotoError, match="no GKSP magic"):
        SimulatedDecoder().decode(wlt)
    with pytest.raises(PhotoError, match="1024 bytes, not 1023"):
        SimulatedDecoder().decode(bytes(blob[:-1]))
    damaged = bytes(blob[:6]) + b"\x03\xff" + bytes(blob[8:])
    with pytest.raises(PhotoError, match="length 1023 out of range"):
        SimulatedDecoder().decode(damaged)
    padded = bytes(blob[:-1]) + b"\x01"
    with pytest.raises(PhotoError, match="padding"):
        SimulatedDecoder().decode(padded)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, PHOTO_SIZE - 1), st.integers(0, 255)), max_size=12))
def test_simulated_decoder_fuzz_never_crashes(edits) -> None:
    blob = bytearray(_SIM_BLOB)
    for offset, value in edits:
        blob[offset] = value
    try:
        image = SimulatedDecoder().decode(bytes(blob))
    except PhotoError:
        return
    assert image.shape == (126, 102, 3)


@settings(max_examples=200, deadline=None)
@given(st.binary(min_size=PHOTO_SIZE - 8, max_size=PHOTO_SIZE - 8))
def test_simulated_decoder_fuzz_random_payloads(payload: bytes) -> None:
    blob = simphoto.HEADER.pack(simphoto.MAGIC, 1, b"W", len(payload)) + payload
    with pytest.raises(PhotoError):  # never a decodable 102×126 image by chance
        SimulatedDecoder().decode(blob)


_SIM_BLOB = simphoto.encode(photo("alex-lacamoire.png"))


def test_sim_idcard_cards_carry_the_photo() -> None:
    reader = SimulatedReader()
    blob = simphoto.read_photo(str(Path(__file__).parents[2] / "shared/fixtures/faces/obama.jpg"))
    console = Console(reader, "resident", random.Random(2), blob)
    assert console.execute("").endswith("with the photo")
    assert reader.card is not None
    assert reader.card.photo == blob
    # The card still reads back as a valid identity with that photo.
    again = parse_identity(reader.card.to_text_block(), reader.card.photo)
    assert again.photo == blob
    assert console.execute("y").startswith("placed a synthetic foreign2023 card")
    assert reader.card.photo == blob
    plain = Console(SimulatedReader(), "resident", random.Random(2))
    plain.execute("")
    assert not simphoto.is_simulated(plain.reader.card.photo)


def test_sim_idcard_photo_that_is_not_an_image(tmp_path: Path, capsys) -> None:
    bad = tmp_path / "notes.txt"
    bad.write_text("not an image", encoding="utf-8")
    assert sim_idcard(["--photo", str(bad)]) == 2
    assert "--photo" in capsys.readouterr().err


# --- the vendor library ---------------------------------------------------------------------


def test_the_vendor_library_decodes_through_ctypes(stub: Path) -> None:
    decoder = VendorLibraryDecoder(str(stub))
    assert np.array_equal(decoder.decode(bytes(PHOTO_SIZE)), PIXELS)
    rgb = VendorLibraryDecoder(str(stub), symbol="unpack_rgb", output="rgb", output_size=38556)
    assert np.array_equal(rgb.decode(bytes(PHOTO_SIZE)), PIXELS)
    assert "unpack(wlt, out, 602)" in decoder.describe()


def test_the_vendor_library_return_code_is_checked(stub: Path) -> None:
    with pytest.raises(PhotoError, match=r"unpack\(\) returned -3, expected 1"):
        VendorLibraryDecoder(str(stub)).decode(b"FAIL" + bytes(PHOTO_SIZE - 4))
    with pytest.raises(PhotoError, match=r"returned 0"):  # the stub knows only flag 602
        VendorLibraryDecoder(str(stub), flag=603).decode(bytes(PHOTO_SIZE))
    with pytest.raises(PhotoError, match="1024 bytes, not 10"):
        VendorLibraryDecoder(str(stub)).decode(bytes(10))


def test_a_missing_library_or_symbol_is_named(stub: Path, tmp_path: Path) -> None:
    with pytest.raises(PhotoError, match="cannot be loaded"):
        VendorLibraryDecoder(str(tmp_path / "libnone.so")).decode(bytes(PHOTO_SIZE))
    with pytest.raises(PhotoError, match="has no symbol 'Unpack'"):
        VendorLibraryDecoder(str(stub), symbol="Unpack").decode(bytes(PHOTO_SIZE))


# --- checks and configuration ----------------------------------------------------------------


def test_decoder_for_each_setting(stub: Path) -> None:
    assert isinstance(decoder_for(FaceSettings()), NoDecoder)
    assert isinstance(decoder_for(FaceSettings(decoder="bmp")), BmpDecoder)
    assert isinstance(
        decoder_for(FaceSettings(decoder="simulated", allow_simulated=True)), SimulatedDecoder
    )
    vendor = decoder_for(FaceSettings(decoder="vendor", vendor_library=str(stub)))
    assert isinstance(vendor, VendorLibraryDecoder)
    with pytest.raises(PhotoError, match='decoder = "none"'):
        NoDecoder().decode(bytes(PHOTO_SIZE))


def test_problems_name_the_key_and_file(stub: Path, tmp_path: Path) -> None:
    assert checks.problems(FaceSettings()) == []  # off: nothing to check
    assert checks.problems(FaceSettings(decoder="vendor", vendor_library=str(stub))) == []
    missing = tmp_path / "libwlt2bmp.so"
    assert checks.problems(FaceSettings(decoder="vendor", vendor_library=str(missing))) == [
        f"face.vendor_library: {missing}: no such file"
    ]
    assert checks.problems(
        FaceSettings(decoder="vendor", vendor_library=str(stub), vendor_symbol="Unpack")
    ) == [f"face.vendor_symbol: {stub} has no symbol 'Unpack'"]
    not_a_library = tmp_path / "readme.so"
    not_a_library.write_text("text", encoding="utf-8")
    [problem] = checks.problems(FaceSettings(decoder="vendor", vendor_library=str(not_a_library)))
    assert problem.startswith(f"face.vendor_library: {not_a_library}: cannot be loaded")
    small = FaceSettings(decoder="vendor", vendor_library=str(stub), vendor_output_size=1000)
    assert checks.problems(small)[0].startswith("face.vendor_output_size: 1000 bytes cannot hold")
    simulated = FaceSettings(decoder="simulated", allow_simulated=True)
    assert (
        SimulatedDecoder()
        .problems(simulated, demo=False)[0]
        .startswith('face.decoder: "simulated" reads only')
    )
    assert checks.problems(simulated) == []


def test_missing_weights_are_named(tmp_path: Path) -> None:
    settings = FaceSettings(decoder="bmp", model_dir=str(tmp_path), challenges=("blink",))
    names = [p.split(": ")[1] for p in checks.problems(settings)]
    assert names == [
        str(tmp_path / "dlib_face_recognition_resnet_model_v1.dat"),
        str(tmp_path / "shape_predictor_5_face_landmarks.dat"),
        str(tmp_path / "shape_predictor_68_face_landmarks.dat"),
    ]
    binocular = FaceSettings(decoder="bmp", model_dir=str(tmp_path))
    assert len(checks.problems(binocular)) == 2  # the 68-point model only for the blink


def _config(tmp_path: Path, face: str) -> Path:
    path = tmp_path / "govkiosk.toml"
    path.write_text(f'[kiosk]\nid = "test-0001"\n\n[face]\n{face}\n', encoding="utf-8")
    return path


def test_the_face_section_loads_and_refuses_the_simulator_outside_demos(tmp_path: Path) -> None:
    assert load_config(_config(tmp_path, "")).face == FaceSettings()
    config = load_config(_config(tmp_path, 'decoder = "simulated"\nallow_simulated = true'))
    assert config.face.decoder == "simulated"
    with pytest.raises(ConfigError) as caught:
        load_config(_config(tmp_path, 'decoder = "simulated"'))
    assert 'govkiosk.toml: face: expected decoder = "simulated" only with allow_simulated' in str(
        caught.value
    )
    with pytest.raises(ConfigError, match=r"face\.threshold: expected a score between 0 and 1"):
        load_config(_config(tmp_path, "threshold = 1.5"))
    with pytest.raises(ConfigError, match=r"face.liveness: expected \"binocular\" or"):
        load_config(_config(tmp_path, 'liveness = "wink"'))
    with pytest.raises(ConfigError, match=r"face\.challenges: expected a list of one or more"):
        load_config(_config(tmp_path, 'challenges = ["nod"]'))
    with pytest.raises(ConfigError, match=r"face\.challenges: expected a list of one or more"):
        load_config(_config(tmp_path, "challenges = []"))
    blink = load_config(_config(tmp_path, 'challenges = ["blink", "turn_left"]'))
    assert blink.face.challenges == ("blink", "turn_left")


def test_check_config_names_what_the_machine_lacks(tmp_path: Path, capsys) -> None:
    missing = tmp_path / "opt/libwlt2bmp.so"
    path = _config(tmp_path, f'decoder = "vendor"\nvendor_library = "{missing}"')
    assert govkioskd(["--config", str(path), "--check-config"]) == 2
    assert f"face.vendor_library: {missing}: no such file" in capsys.readouterr().err
    good = _config(tmp_path, 'decoder = "bmp"')
    assert govkioskd(["--config", str(good), "--check-config"]) == 0
    assert sys.executable  # the probe ran in a child interpreter of this Python
