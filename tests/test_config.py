"""Configuration: merged files, typed values, and errors that name file, key and expectation."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path
from typing import List

import pytest
from hypothesis import given
from hypothesis import strategies as st

from govkiosk.config import config_files, load_config
from govkiosk.tables import ConfigError


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def main_file(tmp_path: Path) -> Path:
    return write(tmp_path / "govkiosk.toml", '[kiosk]\nid = "hlj-0001"\n')


def problems(path: Path) -> list:
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    return [str(p) for p in caught.value.problems]


def test_defaults_fill_what_the_file_leaves_out(main_file: Path) -> None:
    config = load_config(main_file)
    assert config.kiosk.id == "hlj-0001"
    assert config.kiosk.language == "zh_CN"
    assert config.daemon.restart_max == 60.0
    assert config.devices.static == ()


def test_dropins_override_key_by_key_in_name_order(main_file: Path) -> None:
    write(main_file.parent / "conf.d/20-b.toml", "[daemon]\nrestart_max = 30\n")
    write(
        main_file.parent / "conf.d/10-a.toml", '[daemon]\nrestart_max = 10\nlog_level = "debug"\n'
    )
    config = load_config(main_file)
    assert config.daemon.restart_max == 30.0  # 20-b wins over 10-a
    assert config.daemon.log_level == "debug"  # kept from 10-a
    assert config.kiosk.id == "hlj-0001"
    assert [p.name for p in config_files(main_file)] == ["govkiosk.toml", "10-a.toml", "20-b.toml"]


def test_error_names_the_dropin_that_set_the_key(main_file: Path) -> None:
    write(main_file.parent / "conf.d/20-daemon.toml", '[daemon]\nrestart_initial = "fast"\n')
    assert problems(main_file) == [
        'conf.d/20-daemon.toml: daemon.restart_initial: expected a number of seconds > 0, got "fast"'
    ]


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    path = write(
        tmp_path / "govkiosk.toml",
        '[kiosk]\nid = "Bad Id"\nregion = 2301\n[daemon]\nlog_level = "loud"\nbogus = 1\n',
    )
    found = problems(path)
    assert (
        "govkiosk.toml: kiosk.id: expected a kiosk id of 1-64 lower-case letters, digits or '-', got \"Bad Id\""
        in found
    )
    assert (
        "govkiosk.toml: kiosk.region: expected a six-digit administrative division code, got 2301"
        in found
    )
    assert (
        'govkiosk.toml: daemon.log_level: expected "debug" or "info" or "warning" or "error", got "loud"'
        in found
    )
    assert any(
        p.startswith("govkiosk.toml: daemon.bogus: unknown key (known keys: ") for p in found
    )
    assert len(found) == 4


def test_missing_required_key(tmp_path: Path) -> None:
    path = write(tmp_path / "govkiosk.toml", "[kiosk]\n")
    assert problems(path) == [
        "govkiosk.toml: kiosk.id: required, expected a kiosk id of 1-64 lower-case letters, digits or '-'"
    ]


def test_booleans_are_not_numbers(main_file: Path) -> None:
    write(main_file.parent / "conf.d/x.toml", "[daemon]\nstop_timeout = true\n")
    assert problems(main_file) == [
        "conf.d/x.toml: daemon.stop_timeout: expected a number of seconds between 0 and 5, got true"
    ]


def test_table_where_a_value_belongs_and_list_items(main_file: Path) -> None:
    write(
        main_file.parent / "conf.d/dev.toml",
        '[[devices.static]]\nrole = "idcard"\nport = "socket://127.0.0.1:1"\n'
        "[[devices.static]]\nrole = 7\n",
    )
    assert problems(main_file) == [
        "conf.d/dev.toml: devices.static.1.role: expected a known role (doc_camera,"
        " face_camera_ir, face_camera_rgb, hub, idcard, pinpad, presence, qrscanner,"
        " receipt_printer, ups), got 7",
        'conf.d/dev.toml: devices.static.1.port: required, expected a device path or "socket://host:port"',
    ]


def test_toml_syntax_error_names_file_and_line(main_file: Path) -> None:
    write(main_file.parent / "conf.d/bad.toml", "[daemon\nlog_level = 1\n")
    (found,) = problems(main_file)
    assert found.startswith("conf.d/bad.toml: not valid TOML: ")
    assert "line 1" in found


def test_missing_and_unreadable_files(tmp_path: Path) -> None:
    assert problems(tmp_path / "nope.toml") == ["nope.toml: no such file"]
    path = write(tmp_path / "latin1.toml", "")
    path.write_bytes(b'[kiosk]\nid = "caf\xe9"\n')
    assert problems(path) == ["latin1.toml: not valid TOML: the file is not UTF-8"]


@pytest.mark.fuzz
@given(st.text(max_size=200))
def test_any_text_gives_a_config_or_a_config_error(text: str) -> None:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "govkiosk.toml"
        path.write_text(text, encoding="utf-8")
        problems_found: List[str] = []
        try:
            load_config(path)
        except ConfigError as err:
            problems_found = [str(p) for p in err.problems]
        assert all(p.startswith("govkiosk.toml: ") for p in problems_found)


def test_check_config_exits_2_and_names_file_and_key(tmp_path: Path) -> None:
    path = write(tmp_path / "govkiosk.toml", '[kiosk]\nid = "ok-1"\n[daemon]\nrestart_max = -1\n')
    bad = subprocess.run(
        [sys.executable, "-m", "govkiosk", "--config", str(path), "--check-config"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode == 2
    assert (
        "govkiosk.toml: daemon.restart_max: expected a number of seconds > 0, got -1" in bad.stderr
    )
    assert "Traceback" not in bad.stderr
    path.write_text('[kiosk]\nid = "ok-1"\n')
    good = subprocess.run(
        [sys.executable, "-m", "govkiosk", "--config", str(path), "--check-config"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert good.returncode == 0, good.stderr
    assert "configuration is valid" in good.stdout


def check(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "govkiosk", "--config", str(path), "--check-config"],
        capture_output=True,
        text=True,
        check=False,
    )


def test_check_config_names_the_items_a_missing_decoder_or_camera_leaves_unavailable(
    tmp_path: Path,
) -> None:
    face_items = "no_criminal_record, contribution_record_print"
    bare = check(write(tmp_path / "govkiosk.toml", '[kiosk]\nid = "ok-1"\n'))
    assert bare.returncode == 0, bare.stderr
    notes = [line for line in bare.stdout.splitlines() if line.startswith("note: ")]
    assert len(notes) == 2
    assert '[face] decoder = "none"' in notes[0]
    assert "no device has the role face_camera_rgb" in notes[1]
    assert all(face_items in note for note in notes)
    cameras = "".join(
        f'[[devices.static]]\nrole = "{role}"\nport = "/dev/video{n}"\n'
        for n, role in enumerate(("face_camera_rgb", "face_camera_ir", "doc_camera"))
    )
    ready = check(
        write(
            tmp_path / "govkiosk.toml", f'[kiosk]\nid = "ok-1"\n[face]\ndecoder = "bmp"\n{cameras}'
        )
    )
    assert ready.returncode == 0, ready.stderr
    assert "note:" not in ready.stdout


def test_check_config_refuses_the_simulated_decoder_outside_a_demo(tmp_path: Path) -> None:
    path = write(
        tmp_path / "govkiosk.toml", '[kiosk]\nid = "ok-1"\n[face]\ndecoder = "simulated"\n'
    )
    refused = check(path)
    assert refused.returncode == 2
    assert "govkiosk.toml: face" in refused.stderr
    assert "allow_simulated" in refused.stderr
