"""``[kiosk]``'s presentation keys: the hall, where the card reader is, and its picture
(checked when the configuration is read: absolute path, a PNG, bounded size)."""

from __future__ import annotations

from pathlib import Path
from typing import List

import cv2
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from govkiosk.config import load_config
from govkiosk.kiosk import IMAGE_MAX_BYTES, png_file
from govkiosk.tables import ConfigError


def config(tmp_path: Path, lines: str) -> Path:
    path = tmp_path / "govkiosk.toml"
    path.write_text(f'[kiosk]\nid = "hlj-0001"\n{lines}\n', encoding="utf-8")
    return path


def problems(path: Path) -> List[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    return [str(p) for p in caught.value.problems]


def png(path: Path) -> Path:
    ok, data = cv2.imencode(".png", np.zeros((8, 8, 3), np.uint8))
    assert ok
    path.write_bytes(data.tobytes())
    return path


def test_defaults_say_below_the_screen_and_no_hall(tmp_path: Path) -> None:
    kiosk = load_config(config(tmp_path, "")).kiosk
    assert (kiosk.hall, kiosk.hall_en, kiosk.card_reader, kiosk.card_reader_image) == (
        "",
        "",
        "below_screen",
        "",
    )
    assert kiosk.card_reader_text("zh_CN") == "身份证读卡区在屏幕下方的台面上"
    assert kiosk.card_reader_text("en") == "The ID card reader is on the counter below the screen"


def test_hall_position_and_picture_are_read(tmp_path: Path) -> None:
    image = png(tmp_path / "reader.png")
    lines = (
        'hall = "哈尔滨市政务服务中心"\nhall_en = "Harbin Government Service Centre"\n'
        f'card_reader = "left_panel"\ncard_reader_image = "{image}"'
    )
    kiosk = load_config(config(tmp_path, lines)).kiosk
    assert (kiosk.hall, kiosk.hall_en) == (
        "哈尔滨市政务服务中心",
        "Harbin Government Service Centre",
    )
    assert kiosk.card_reader == "left_panel"
    assert kiosk.card_reader_image == str(image)


def test_bad_values_name_the_key_and_the_expectation(tmp_path: Path) -> None:
    text = tmp_path / "reader.png"
    text.write_text("not a picture", encoding="utf-8")
    path = config(tmp_path, f'card_reader = "roof"\ncard_reader_image = "{text}"')
    assert problems(path) == [
        'govkiosk.toml: kiosk.card_reader: expected "below_screen" or "right" or "left" or'
        ' "centre" or "right_panel" or "left_panel", got "roof"',
        f"govkiosk.toml: kiosk.card_reader_image: {text} is not a PNG image",
    ]
    assert problems(config(tmp_path, 'hall = "第一行\\n第二行"')) == [
        "govkiosk.toml: kiosk.hall: expected the hall's name on one line (<= 64 characters),"
        ' got "第一行\\n第二行"'
    ]


def test_the_picture_must_be_absolute_present_and_small(tmp_path: Path) -> None:
    missing = tmp_path / "missing.png"
    big = png(tmp_path / "big.png")
    with big.open("ab") as file:
        file.write(bytes(IMAGE_MAX_BYTES))
    assert problems(config(tmp_path, 'card_reader_image = "reader.png"')) == [
        "govkiosk.toml: kiosk.card_reader_image: expected the absolute path of a PNG file"
        " or \"\", got 'reader.png'"
    ]
    assert problems(config(tmp_path, f'card_reader_image = "{missing}"')) == [
        f"govkiosk.toml: kiosk.card_reader_image: {missing} cannot be read:"
        " No such file or directory"
    ]
    size = big.stat().st_size
    assert problems(config(tmp_path, f'card_reader_image = "{big}"')) == [
        f"govkiosk.toml: kiosk.card_reader_image: {big} is {size} bytes;"
        f" at most {IMAGE_MAX_BYTES} are allowed"
    ]
    assert problems(config(tmp_path, f'card_reader_image = "{tmp_path}"')) == [
        f"govkiosk.toml: kiosk.card_reader_image: {tmp_path} cannot be read: Is a directory"
    ]


#: Paths whose reading could block (a device) are not fuzzed.
PATHS = st.text(max_size=30).filter(lambda v: not v.startswith(("/dev", "/proc", "/sys")))


@pytest.mark.fuzz
@given(st.one_of(PATHS, st.integers(), st.booleans(), st.lists(st.text())))
def test_fuzzed_picture_values_give_a_path_or_a_reason(value: object) -> None:
    reason = ""
    try:
        result = png_file(value)
    except ValueError as err:
        reason, result = str(err), ""
    assert result == ""  # nothing fuzzed names a real PNG
    assert reason or value == ""
