"""``govkioskctl backup`` and ``restore`` (§8 e): an encrypted archive of the database, the
configuration and the packages; rotation; the key off the medium; refusals."""

from __future__ import annotations

import io
import json
import os
import sqlite3
import subprocess
import tarfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from govkiosk import __version__
from govkiosk.backup import ciphers
from govkiosk.backup.ciphers import AES_MAGIC, SM4_MAGIC
from govkiosk.backup.settings import BackupSettings
from govkiosk.backup.snapshot import (
    BackupError,
    RestoreError,
    backups,
    make_backup,
    open_backup,
    read_key,
    restore,
)
from govkiosk.cli.main import main as ctl_main
from govkiosk.store import DB_NAME

T0 = datetime(2025, 11, 27, 2, 0, tzinfo=timezone.utc)
#: An installed package (so dpkg knows its version) standing in for govkiosk.
PACKAGE = "dpkg"
SITE = '[kiosk]\nname = "x"\n'


def installed_version() -> str:
    done = subprocess.run(
        ["dpkg-query", "-W", "-f", "${Version}", PACKAGE],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


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
    cache = tmp_path / "archives"
    cache.mkdir()
    (cache / f"{PACKAGE}_{installed_version()}_amd64.deb").write_bytes(b"!<arch>\nthe package")
    (cache / f"{PACKAGE}_0.1_amd64.deb").write_bytes(b"!<arch>\nan older one")
    (etc / "govkiosk.toml").write_text(
        f'[kiosk]\nid = "k1"\n[backup]\ndir = "{tmp_path / "backups"}"\nkeep = 2\n'
        f'key_file = "{etc / "backup.key"}"\npackages = ["{PACKAGE}"]\n'
        f'package_dir = "{cache}"\n'
    )
    (etc / "conf.d/50-site.toml").write_text(SITE)
    assert ctl_main(["backup", "--new-key", str(etc / "backup.key")]) == 0
    return tmp_path


def backup_settings(kiosk: Path, keep: int = 2, cipher: str = "aes-256-gcm") -> BackupSettings:
    return BackupSettings(
        dir=str(kiosk / "backups"),
        keep=keep,
        key_file=str(kiosk / "etc/backup.key"),
        cipher=cipher,  # type: ignore[arg-type]
        packages=(PACKAGE,),
        package_dir=str(kiosk / "archives"),
    )


@pytest.mark.parametrize(("cipher", "magic"), [("aes-256-gcm", AES_MAGIC), ("sm4", SM4_MAGIC)])
def test_a_backup_is_encrypted_and_restores_database_configuration_and_packages(
    kiosk: Path, cipher: str, magic: bytes
) -> None:
    target = make_backup(kiosk / "state", kiosk / "etc", backup_settings(kiosk, cipher=cipher), T0)
    assert target.name == "govkiosk-20251127T020000Z.gkbak"
    blob = target.read_bytes()
    assert blob.startswith(magic)
    for plain in (b"sealed", b"conf.d", b"the package"):
        assert plain not in blob

    fresh = kiosk / "fresh"
    key = read_key(kiosk / "etc/backup.key")
    done = restore(target, key, fresh / "state", fresh / "etc", packages_dir=fresh / "debs")
    copy = sqlite3.connect(str(fresh / "state" / DB_NAME))
    assert copy.execute("SELECT decision FROM audit").fetchall() == [("sealed",)]
    copy.close()
    assert (fresh / "etc/conf.d/50-site.toml").read_text() == SITE
    # The key stays off the backup: a restore brings its own with --key.
    assert not (fresh / "etc/backup.key").exists()
    assert done.manifest["version"] == __version__
    assert done.manifest["packages"] == [
        {
            "name": PACKAGE,
            "version": installed_version(),
            "files": [f"{PACKAGE}_{installed_version()}_amd64.deb"],
        }
    ]
    assert [p.name for p in done.packages] == [f"{PACKAGE}_{installed_version()}_amd64.deb"]
    assert done.packages[0].read_bytes() == b"!<arch>\nthe package"


def test_rotation_keeps_the_newest_and_clears_partial_runs(kiosk: Path) -> None:
    settings = backup_settings(kiosk)
    (kiosk / "backups").mkdir()
    (kiosk / "backups/govkiosk-20000101T000000Z.gkbak.partial").write_bytes(b"half")
    made = [
        make_backup(kiosk / "state", kiosk / "etc", settings, T0 + timedelta(days=7 * week))
        for week in range(3)
    ]
    assert backups(kiosk / "backups") == made[1:]
    assert sorted(p.name for p in (kiosk / "backups").iterdir()) == [p.name for p in made[1:]]


def test_a_failed_backup_names_the_directory(kiosk: Path) -> None:
    (kiosk / "backups").write_text("not a directory")
    with pytest.raises(BackupError, match=r"backup into .*/backups failed"):
        make_backup(kiosk / "state", kiosk / "etc", backup_settings(kiosk), T0)


def test_the_key_must_stay_off_the_backup_medium(kiosk: Path) -> None:
    (kiosk / "backups").mkdir()
    os.replace(kiosk / "etc/backup.key", kiosk / "backups/backup.key")
    settings = BackupSettings(
        dir=str(kiosk / "backups"), key_file=str(kiosk / "backups/backup.key")
    )
    with pytest.raises(BackupError, match="inside the backup directory"):
        make_backup(kiosk / "state", kiosk / "etc", settings, T0)
    assert backups(kiosk / "backups") == []


def test_no_key_no_backup(kiosk: Path) -> None:
    (kiosk / "etc/backup.key").write_text("too short\n")
    with pytest.raises(BackupError, match="expected 64 hex digits"):
        make_backup(kiosk / "state", kiosk / "etc", backup_settings(kiosk), T0)


def test_a_wrong_key_or_a_changed_byte_is_refused_and_nothing_is_written(kiosk: Path) -> None:
    target = make_backup(kiosk / "state", kiosk / "etc", backup_settings(kiosk), T0)
    fresh = kiosk / "fresh"
    with pytest.raises(RestoreError, match="wrong key, or the backup is damaged"):
        restore(target, os.urandom(32), fresh / "state", fresh / "etc")
    blob = bytearray(target.read_bytes())
    blob[len(blob) // 2] ^= 1
    target.write_bytes(bytes(blob))
    with pytest.raises(RestoreError, match="wrong key, or the backup is damaged"):
        restore(target, read_key(kiosk / "etc/backup.key"), fresh / "state", fresh / "etc")
    assert not fresh.exists()


def test_restore_refuses_an_installed_kiosk_unless_forced(kiosk: Path) -> None:
    target = make_backup(kiosk / "state", kiosk / "etc", backup_settings(kiosk), T0)
    key = read_key(kiosk / "etc/backup.key")
    with pytest.raises(RestoreError, match=r"govkiosk.sqlite3 exists: restore onto a fresh"):
        restore(target, key, kiosk / "state", kiosk / "etc")
    restore(target, key, kiosk / "state", kiosk / "etc", force=True)


def sealed_tar(key: bytes, name: str, data: bytes = b"x") -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return ciphers.seal("aes-256-gcm", key, buffer.getvalue())


@pytest.mark.parametrize("name", ["../escape", "/etc/passwd", "etc/../../x", "bin/sh"])
def test_a_member_outside_its_place_refuses_the_whole_backup(tmp_path: Path, name: str) -> None:
    key = os.urandom(32)
    archive = tmp_path / "evil.gkbak"
    archive.write_bytes(sealed_tar(key, name))
    with pytest.raises(RestoreError):
        restore(archive, key, tmp_path / "state", tmp_path / "etc")
    assert not (tmp_path / "state").exists()
    assert not (tmp_path / "etc").exists()


@pytest.mark.fuzz
@settings(deadline=None)
@given(st.binary(max_size=200), st.sampled_from([b"", AES_MAGIC, SM4_MAGIC]))
def test_any_bytes_are_refused_cleanly(
    tmp_path_factory: pytest.TempPathFactory, blob: bytes, magic: bytes
) -> None:
    directory = tmp_path_factory.mktemp("fuzz")
    archive = directory / "x.gkbak"
    archive.write_bytes(magic + blob)
    with pytest.raises(RestoreError):
        open_backup(archive, bytes(32))


def sealed(key: bytes, plain: bytes) -> bytes:
    return ciphers.seal("aes-256-gcm", key, plain)


@pytest.mark.parametrize("cipher", sorted(ciphers.SEALERS))
def test_any_changed_byte_or_another_key_is_refused(cipher: str) -> None:
    key = os.urandom(32)
    blob = ciphers.seal(cipher, key, b"the archive")
    assert ciphers.open_sealed(key, blob) == b"the archive"
    with pytest.raises(ciphers.DamagedError):
        ciphers.open_sealed(os.urandom(32), blob)
    magic = AES_MAGIC if cipher == "aes-256-gcm" else SM4_MAGIC
    for at in range(len(magic), len(blob)):  # counter or nonce, ciphertext, tag
        changed = bytearray(blob)
        changed[at] ^= 1
        with pytest.raises(ciphers.DamagedError):
            ciphers.open_sealed(key, bytes(changed))


def test_sm4_is_the_national_standard_cipher() -> None:
    # GB/T 32907-2016 Appendix A, example 1: key = plaintext = 0123456789abcdeffedcba9876543210.
    # CTR with an all-zero counter encrypts the counter block and xors it: encrypting the
    # zero block, xored into the plaintext, must give the same as the ECB vector's keystream.
    vector = bytes.fromhex("0123456789abcdeffedcba9876543210")
    keystream = ciphers._sm4_ctr(vector, vector, bytes(16))
    assert keystream.hex() == "681edf34d206965e86b3e94f536e4246"


@settings(max_examples=200, deadline=None)
@given(
    st.one_of(
        st.binary(max_size=2048),
        st.lists(
            st.tuples(
                st.sampled_from(["MANIFEST.json", "etc/a.toml", "state/x", "../x", "etc//y"]),
                st.binary(max_size=64),
            ),
            max_size=4,
        ),
    )
)
def test_any_sealed_contents_restore_cleanly_or_are_refused(
    tmp_path_factory: pytest.TempPathFactory, contents: object
) -> None:
    """With the right key, whatever is inside: a clean refusal, or files only in place."""
    directory = tmp_path_factory.mktemp("fuzz")
    key = bytes(32)
    if isinstance(contents, bytes):
        plain = contents
    else:
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as tar:
            for name, data in contents:  # type: ignore[attr-defined]
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
        plain = buffer.getvalue()
    archive = directory / "x.gkbak"
    archive.write_bytes(sealed(key, plain))
    try:
        restore(archive, key, directory / "out/state", directory / "out/etc")
    except RestoreError:
        return
    written = [p for p in directory.rglob("*") if p.is_file() and p != archive]
    for path in written:
        assert path.relative_to(directory / "out").parts[0] in ("state", "etc")


def test_ctl_backup_then_ctl_restore(kiosk: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = kiosk / "etc/govkiosk.toml"
    argv = ["backup", "--config", str(config), "--state-dir", str(kiosk / "state")]
    capsys.readouterr()
    assert ctl_main(argv) == 0
    written = capsys.readouterr().out
    assert written.startswith(f"backup written: {kiosk / 'backups'}/govkiosk-")
    (archive,) = backups(kiosk / "backups")

    fresh = kiosk / "fresh"
    wrong = kiosk / "wrong.key"
    assert ctl_main(["backup", "--new-key", str(wrong)]) == 0
    restore_argv = ["restore", str(archive), "--state-dir", str(fresh / "state")]
    restore_argv += ["--config-dir", str(fresh / "etc")]
    capsys.readouterr()
    assert ctl_main([*restore_argv, "--key", str(wrong)]) == 1
    assert "wrong key, or the backup is damaged" in capsys.readouterr().err
    assert not fresh.exists()
    assert ctl_main([*restore_argv, "--key", str(kiosk / "etc/backup.key")]) == 0
    out = capsys.readouterr().out
    assert f"restored {archive.name}" in out
    assert f"package {PACKAGE} {installed_version()}" in out
    # Each end is in its kiosk's ops log, chained.
    for state, kind, code in (
        (kiosk / "state", "backup", "written"),
        (fresh / "state", "restore", "restored"),
    ):
        assert ctl_main(["oplog", "verify", "--state-dir", str(state)]) == 0
        conn = sqlite3.connect(str(state / DB_NAME))
        rows = conn.execute("SELECT kind, code, detail FROM ops_log ORDER BY id").fetchall()
        conn.close()
        assert [(k, c) for k, c, _ in rows] == [(kind, code)]
        assert json.loads(rows[0][2])["archive"] == archive.name


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


def test_new_key_never_overwrites(kiosk: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = (kiosk / "etc/backup.key").read_text()
    assert ctl_main(["backup", "--new-key", str(kiosk / "etc/backup.key")]) == 1
    assert (kiosk / "etc/backup.key").read_text() == before
    assert oct((kiosk / "etc/backup.key").stat().st_mode & 0o777) == "0o600"


@pytest.mark.skipif(os.geteuid() != 0, reason="changing owners needs root")
def test_restored_files_belong_to_the_fresh_install(kiosk: Path) -> None:
    target = make_backup(kiosk / "state", kiosk / "etc", backup_settings(kiosk), T0)
    fresh = kiosk / "fresh"
    (fresh / "state").mkdir(parents=True)
    os.chown(fresh / "state", 4321, 4322)  # the govkiosk user of the new install
    (fresh / "etc/conf.d").mkdir(parents=True)
    packaged = fresh / "etc/conf.d/50-site.toml"
    packaged.write_text("# as packaged\n")
    os.chown(packaged, 0, 4322)
    restore(target, read_key(kiosk / "etc/backup.key"), fresh / "state", fresh / "etc")
    database = (fresh / "state" / DB_NAME).stat()
    assert (database.st_uid, database.st_gid) == (4321, 4322)
    assert packaged.read_text() == SITE  # the backed-up configuration replaces the packaged one
    assert (packaged.stat().st_uid, packaged.stat().st_gid) == (0, 4322)
