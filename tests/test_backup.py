"""``govkioskctl backup`` (§8 e): a consistent database snapshot, the configuration, rotation."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from govkiosk import __version__
from govkiosk.backup.settings import BackupSettings
from govkiosk.backup.snapshot import BackupError, backups, make_backup
from govkiosk.cli.main import main as ctl_main
from govkiosk.store import DB_NAME

T0 = datetime(2025, 11, 27, 2, 0, tzinfo=timezone.utc)


@pytest.fixture
def kiosk(tmp_path: Path) -> Path:
    state = tmp_path / "state"
    state.mkdir()
    conn = sqlite3.connect(str(state / DB_NAME))
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE audit (decision TEXT)")
    conn.execute("INSERT INTO audit VALUES ('sealed')")
    conn.commit()
    conn.close()
    etc = tmp_path / "etc"
    (etc / "conf.d").mkdir(parents=True)
    (etc / "govkiosk.toml").write_text(
        f'[kiosk]\nid = "k1"\n[backup]\ndir = "{tmp_path / "backups"}"\nkeep = 2\n'
    )
    (etc / "conf.d/50-site.toml").write_text('[kiosk]\nname = "x"\n')
    return tmp_path


def test_backup_holds_the_database_the_configuration_and_the_version(kiosk: Path) -> None:
    settings = BackupSettings(dir=str(kiosk / "backups"), keep=2)
    target = make_backup(kiosk / "state", kiosk / "etc", settings, T0)
    assert target.name == "govkiosk-20251127T020000Z"
    copy = sqlite3.connect(str(target / DB_NAME))
    assert copy.execute("SELECT decision FROM audit").fetchall() == [("sealed",)]
    copy.close()
    assert (target / "etc/conf.d/50-site.toml").read_text() == '[kiosk]\nname = "x"\n'
    assert (target / "VERSION").read_text() == __version__ + "\n"


def test_rotation_keeps_the_newest_and_clears_partial_runs(kiosk: Path) -> None:
    settings = BackupSettings(dir=str(kiosk / "backups"), keep=2)
    (kiosk / "backups/govkiosk-20000101T000000Z.partial").mkdir(parents=True)
    made = [
        make_backup(kiosk / "state", kiosk / "etc", settings, T0 + timedelta(days=7 * week))
        for week in range(3)
    ]
    assert backups(kiosk / "backups") == made[1:]
    assert sorted(p.name for p in (kiosk / "backups").iterdir()) == [p.name for p in made[1:]]


def test_a_failed_backup_names_the_directory(kiosk: Path) -> None:
    (kiosk / "backups").write_text("not a directory")
    settings = BackupSettings(dir=str(kiosk / "backups"), keep=2)
    with pytest.raises(BackupError, match=r"backup into .*/backups failed"):
        make_backup(kiosk / "state", kiosk / "etc", settings, T0)


def test_ctl_backup_reads_the_configured_directory(
    kiosk: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [
        "backup",
        "--config",
        str(kiosk / "etc/govkiosk.toml"),
        "--state-dir",
        str(kiosk / "state"),
    ]
    assert ctl_main(argv) == 0
    written = capsys.readouterr().out
    assert written.startswith(f"backup written: {kiosk / 'backups'}/govkiosk-")
    assert len(backups(kiosk / "backups")) == 1


def test_ctl_backup_reports_an_invalid_configuration(
    kiosk: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (kiosk / "etc/conf.d/60-bad.toml").write_text("[backup]\nkeep = 0\n")
    argv = [
        "backup",
        "--config",
        str(kiosk / "etc/govkiosk.toml"),
        "--state-dir",
        str(kiosk / "state"),
    ]
    assert ctl_main(argv) == 1
    assert "conf.d/60-bad.toml: backup.keep: expected a whole number" in capsys.readouterr().err
