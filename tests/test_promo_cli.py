"""``govkioskctl promo keygen|sign`` (offline) and the promotion program's window options."""

from __future__ import annotations

import argparse
import json
import stat
from pathlib import Path

import pytest

from govkiosk.cli.main import main
from govkiosk.config import load_config
from govkiosk.promo.manifest import parse_signed
from govkiosk_ui.promo.main import parse_args, region
from harness.govkioskd import CONFIG
from harness.promo import GREEN, RED, playlist_dir


def test_keygen_then_sign_a_directory_the_kiosk_accepts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key = tmp_path / "publicity.pem"
    assert main(["promo", "keygen", "--out", str(key), "--key-id", "publicity-2026"]) == 0
    pin = capsys.readouterr().out
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    config = tmp_path / "govkiosk.toml"
    config.write_text(CONFIG + "\n" + pin, encoding="utf-8")
    settings = load_config(config).promo
    assert [k.key_id for k in settings.content_keys] == ["publicity-2026"]

    source = playlist_dir(tmp_path / "week49", "week49", [("welcome", RED), ("hours", GREEN)])
    signed = tmp_path / "week49.json"
    argv = ["promo", "sign", str(source), "--base-url", "https://cdn.example.cn/p",
            "--key", str(key), "--key-id", "publicity-2026", "--out", str(signed)]  # fmt: skip
    assert main(argv) == 0
    manifest = parse_signed(signed.read_text(encoding="utf-8"), settings)
    assert manifest.playlist.version == "week49"
    assert {f.name: f.url for f in manifest.files} == {
        "hours.png": "https://cdn.example.cn/p/hours.png",
        "welcome.png": "https://cdn.example.cn/p/welcome.png",
    }
    assert [f.size for f in manifest.files] == [
        (source / "hours.png").stat().st_size,
        (source / "welcome.png").stat().st_size,
    ]

    # An unsigned manifest file signs the same way (and re-signing a changed one works).
    unsigned = tmp_path / "unsigned.json"
    document = json.loads(signed.read_text(encoding="utf-8"))["manifest"]
    unsigned.write_text(json.dumps({**document, "version": "week50"}), encoding="utf-8")
    argv = ["promo", "sign", str(unsigned), "--key", str(key), "--key-id", "publicity-2026"]
    assert main(argv) == 0
    assert parse_signed(capsys.readouterr().out, settings).playlist.version == "week50"


def test_keys_are_never_overwritten_and_directories_need_a_base_url(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key = tmp_path / "k.pem"
    assert main(["promo", "keygen", "--out", str(key), "--key-id", "k"]) == 0
    before = key.read_bytes()
    assert main(["promo", "keygen", "--out", str(key), "--key-id", "k"]) == 2
    assert key.read_bytes() == before
    assert "a key is never overwritten" in capsys.readouterr().err
    source = playlist_dir(tmp_path / "p", "p", [("a", RED)])
    assert main(["promo", "sign", str(source), "--key", str(key), "--key-id", "k"]) == 2
    assert "needs --base-url" in capsys.readouterr().err


def test_load_without_a_daemon_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    address = f"unix:path={tmp_path / 'no-bus.sock'}"
    assert main(["promo", "--bus", address, "status"]) == 69
    assert "cannot reach" in capsys.readouterr().err


def test_the_window_options() -> None:
    assert region("1920,0,1080,1920") == (1920, 0, 1080, 1920)
    assert region(" -1080, 0, 1080, 1920 ") == (-1080, 0, 1080, 1920)
    for bad in ("1920,0,1080", "a,b,c,d", "0,0,0,100"):
        with pytest.raises(argparse.ArgumentTypeError):
            region(bad)
    args = parse_args(["--display", ":0.1", "--bus", "session"])
    assert (args.display, args.region, args.bus) == (":0.1", None, "session")


def test_the_window_region_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOVKIOSK_PROMO_REGION", "1280,0,1080,1920")
    assert parse_args([]).region == (1280, 0, 1080, 1920)
    monkeypatch.setenv("GOVKIOSK_PROMO_REGION", "wide")
    with pytest.raises(SystemExit):
        parse_args([])
