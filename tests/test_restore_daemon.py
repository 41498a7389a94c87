"""A restore onto a fresh install brings the kiosk back (§8 e): a real govkioskd changes
its state, ``govkioskctl backup`` archives it, ``govkioskctl restore`` puts it onto an
empty state directory and configuration directory, and a new govkioskd there serves the
same items and the same history."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Tuple

import pytest

from govkiosk.backup.snapshot import backups
from govkiosk.cli.main import main
from harness.dbus import PrivateBus
from harness.govkioskd import Govkioskd


def ctl(capsys: pytest.CaptureFixture[str], *argv: str) -> Tuple[int, str, str]:
    capsys.readouterr()
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def served(capsys: pytest.CaptureFixture[str], bus: str) -> Tuple[object, object]:
    status, items, err = ctl(capsys, "--bus", bus, "--json", "items", "list")
    assert status == 0, err
    status, history, err = ctl(
        capsys, "--bus", bus, "--json", "items", "history", "marriage_record"
    )
    assert status == 0, err
    return json.loads(items), json.loads(history)


def test_a_restored_kiosk_comes_back_with_the_same_items_and_history(
    tmp_path: Path, private_bus: PrivateBus, capsys: pytest.CaptureFixture[str]
) -> None:
    bus = private_bus.address
    key = tmp_path / "keys/backup.key"
    key.parent.mkdir()
    assert ctl(capsys, "backup", "--new-key", str(key))[0] == 0
    medium = tmp_path / "medium"
    backup_config = f'\n[backup]\ndir = "{medium}"\nkey_file = "{key}"\npackages = []\n'
    old = Govkioskd(tmp_path / "old", bus, backup_config)
    old.start()
    assert old.proc is not None
    old.proc.wait_ready(lambda: ctl(capsys, "--bus", bus, "items", "list")[0] == 0, 10, "govkioskd")
    status, out, err = ctl(
        capsys, "--bus", bus, "items", "apply", "marriage_record", "--role", "department",
        "--kind", "add", "--name", "婚姻登记记录证明", "--reason", "办件量大",
        "--plan", "对接民政接口", "--function", "查询打印婚姻登记记录",
    )  # fmt: skip
    assert (status, err) == (0, ""), out
    before = served(capsys, bus)
    # A backup of the running kiosk (what the timer does).
    status, out, err = ctl(
        capsys, "backup", "--config", str(old.config), "--state-dir", str(old.directory / "state")
    )
    assert status == 0, err
    old.stop()
    (archive,) = backups(medium)

    # The fresh install: the package's empty directories, nothing else.
    fresh = Govkioskd(tmp_path / "new", bus)
    fresh.config.unlink()
    status, out, err = ctl(
        capsys, "restore", str(archive), "--key", str(key),
        "--state-dir", str(fresh.directory / "state"), "--config-dir", str(fresh.directory),
    )  # fmt: skip
    assert status == 0, err
    assert f"restored {archive.name}" in out
    assert fresh.config.read_text(encoding="utf-8") == old.config.read_text(encoding="utf-8")
    # The old kiosk is gone (the disk died): nothing of it is used any more.
    shutil.rmtree(old.directory)

    fresh.start()
    assert fresh.proc is not None
    fresh.proc.wait_ready(
        lambda: ctl(capsys, "--bus", bus, "items", "list")[0] == 0, 10, "govkioskd"
    )
    after = served(capsys, bus)
    assert after == before
    history = after[1]
    assert isinstance(history, list)
    assert [(h["action"], h["to"]) for h in history] == [("apply", "applied")]
    fresh.stop()
    # The restore is in the restored kiosk's ops log, and the chain holds.
    status, out, err = ctl(capsys, "oplog", "verify", "--state-dir", str(fresh.directory / "state"))
    assert (status, err) == (0, "")
    assert out.startswith("ops log intact:")
