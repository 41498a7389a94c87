"""Promotion content on the kiosk: signed manifests checked, media downloaded from a real
HTTP server on 127.0.0.1 and decoded, versions switched atomically, rollback."""

from __future__ import annotations

import copy
import json
import os
import threading
from pathlib import Path
from typing import Any, AsyncIterator, Dict, List, Set

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from govkiosk.bus import EventBus
from govkiosk.contract.promo import PLAYLIST_FILE, parse_playlist
from govkiosk.promo import media
from govkiosk.promo.errors import (
    DownloadError,
    ManifestError,
    MediaError,
    NoPreviousError,
    PromoError,
    SignatureError,
)
from govkiosk.promo.manifest import parse_signed
from govkiosk.promo.service import PlaylistChanged, PromoService
from govkiosk.promo.settings import PromoSettings
from govkiosk.promo.store import CURRENT, PromoStore
from harness.promo import (
    BLUE,
    GREEN,
    RED,
    ContentSigner,
    MediaServer,
    clip,
    manifest_for,
    playlist_dir,
    poster,
    settings_for,
)

SIGNER = ContentSigner()
SETTINGS = settings_for(SIGNER)
FILES = {"a.png": {"url": "https://cdn.example.cn/a.png", "size": 10, "sha256": "0" * 64}}
MANIFEST = {
    "format": 1,
    "version": "v1",
    "entries": [{"name": "a", "file": "a.png"}],
    "files": FILES,
}


# -- manifests ---------------------------------------------------------------------------


def test_a_signed_manifest_is_accepted() -> None:
    manifest = parse_signed(json.dumps(SIGNER.sign(MANIFEST)), SETTINGS)
    assert manifest.playlist.version == "v1"
    assert [(f.name, f.size) for f in manifest.files] == [("a.png", 10)]
    assert manifest.key_id == SIGNER.key_id


def test_signature_refusals() -> None:
    other = ContentSigner()
    with pytest.raises(SignatureError, match="does not verify with content key"):
        parse_signed({**other.sign(MANIFEST), "key_id": SIGNER.key_id}, SETTINGS)
    with pytest.raises(SignatureError, match="is not a content key pinned"):
        parse_signed(ContentSigner("stranger").sign(MANIFEST), SETTINGS)
    tampered = SIGNER.sign(MANIFEST)
    tampered["manifest"] = copy.deepcopy(MANIFEST)
    tampered["manifest"]["files"]["a.png"]["url"] = "https://evil.example/a.png"
    with pytest.raises(SignatureError, match="does not verify"):
        parse_signed(tampered, SETTINGS)
    with pytest.raises(SignatureError, match="is not a content key pinned"):
        parse_signed(SIGNER.sign(MANIFEST), PromoSettings())  # no key pinned: nothing accepted


@pytest.mark.parametrize(
    ("change", "error", "message"),
    [
        ({"version": "a b"}, ManifestError, "playlist: version: expected"),
        (
            {"entries": [{"name": "a", "file": "a.png", "times": ["8-9"]}]},
            ManifestError,
            'playlist: entries[0] (a): times[0]: expected "HH:MM-HH:MM"',
        ),
        ({"files": {}}, ManifestError, "files: no entry for a.png"),
        ({"files": {**FILES, "b.png": FILES["a.png"]}}, ManifestError, "files: b.png not used"),
        (
            {"files": {"a.png": {**FILES["a.png"], "size": 300 * 1024 * 1024}}},
            ManifestError,
            "files.a.png: size: 314572800 bytes, over [promo] max_file_mb (256 MiB)",
        ),
        (
            {"files": {"a.png": {**FILES["a.png"], "sha256": "ABC"}}},
            ManifestError,
            "files.a.png: sha256: expected 64 lower-case hex digits",
        ),
        (
            {"files": {"a.png": {**FILES["a.png"], "url": "ftp://x/a.png"}}},
            ManifestError,
            "files.a.png: url: expected https://",
        ),
        (
            {"files": {"a.png": {**FILES["a.png"], "url": "http://10.0.0.1/a.png"}}},
            ManifestError,
            "files.a.png: url: expected https://",
        ),
        (
            {"files": {"a.png": {**FILES["a.png"], "url": "https://u:p@x/a.png"}}},
            ManifestError,
            "files.a.png: url: credentials in a URL are refused",
        ),
    ],
)
def test_manifest_refusals_name_the_key(change: Dict[str, Any], error: type, message: str) -> None:
    with pytest.raises(error) as caught:
        parse_signed(SIGNER.sign({**MANIFEST, **change}), SETTINGS)
    assert str(caught.value).startswith(message), str(caught.value)


def test_total_size_is_bounded() -> None:
    entries = [{"name": f"e{i}", "file": f"e{i}.png"} for i in range(3)]
    files = {f"e{i}.png": {**FILES["a.png"], "size": 1024 * 1024} for i in range(3)}
    signed = SIGNER.sign({"version": "v", "entries": entries, "files": files})
    with pytest.raises(ManifestError, match=r"over \[promo\] max_total_mb \(2 MiB\)"):
        parse_signed(signed, settings_for(SIGNER, max_total_mb=2))


def test_plain_http_only_to_loopback_and_only_when_allowed() -> None:
    local = {"a.png": {**FILES["a.png"], "url": "http://127.0.0.1:8080/a.png"}}
    signed = SIGNER.sign({**MANIFEST, "files": local})
    assert parse_signed(signed, SETTINGS).files[0].url.startswith("http://127.0.0.1")
    with pytest.raises(ManifestError, match="url: expected https://"):
        parse_signed(signed, settings_for(SIGNER, allow_http_loopback=False))


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=25,
)


@pytest.mark.fuzz
@given(JSON)
def test_fuzz_any_document_is_a_manifest_error_or_a_signature_error(document: Any) -> None:
    with pytest.raises((ManifestError, SignatureError)):
        parse_signed(document, SETTINGS)


@pytest.mark.fuzz
@given(st.binary(max_size=400) | st.text(max_size=400))
def test_fuzz_any_text_is_refused_cleanly(text: Any) -> None:
    with pytest.raises(PromoError):
        parse_signed(text, SETTINGS)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(["version", "entries", "files"]), JSON)
def test_fuzz_signed_content_is_checked_whole(key: str, value: Any) -> None:
    """Whatever the content key signed, the content is still checked: no crash, no surprise."""
    try:
        manifest = parse_signed(SIGNER.sign({**MANIFEST, key: value}), SETTINGS)
    except ManifestError:
        return
    assert manifest.playlist.files() == {f.name for f in manifest.files}


def test_an_oversized_document_is_refused_unread() -> None:
    with pytest.raises(ManifestError, match="over 256 KiB"):
        parse_signed(" " * (256 * 1024 + 1), SETTINGS)


# -- media -------------------------------------------------------------------------------


def test_media_by_bytes_and_by_decoding(tmp_path: Path) -> None:
    assert media.check(poster(tmp_path / "a.png", RED), "image").width == 270
    assert media.check(poster(tmp_path / "b.jpg", RED), "image").height == 480
    info = media.check(clip(tmp_path / "c.mp4", BLUE), "video")
    assert (info.kind, info.width, info.height, round(info.seconds)) == ("video", 270, 480, 2)
    with pytest.raises(MediaError, match="its name says video, its bytes say image"):
        media.check(poster(tmp_path / "d.png", RED), "video")
    (tmp_path / "e.png").write_bytes(b"GIF89a" + bytes(100))
    with pytest.raises(MediaError, match="its bytes say neither image nor video"):
        media.check(tmp_path / "e.png", "image")
    truncated = (tmp_path / "a.png").read_bytes()[:60]
    (tmp_path / "f.png").write_bytes(truncated)
    with pytest.raises(MediaError, match="not a decodable image"):
        media.check(tmp_path / "f.png", "image")
    huge = bytearray((tmp_path / "a.png").read_bytes())
    huge[16:24] = (20000).to_bytes(4, "big") + (20000).to_bytes(4, "big")
    (tmp_path / "g.png").write_bytes(bytes(huge))
    with pytest.raises(MediaError, match="over 8192 px a side"):
        media.check(tmp_path / "g.png", "image")
    (tmp_path / "h.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(200))
    with pytest.raises(MediaError, match=r"h\.mp4: (not a video this kiosk can decode|no frame)"):
        media.check(tmp_path / "h.mp4", "video")


# -- the store -----------------------------------------------------------------------------


def _install(store: PromoStore, source: Path) -> None:
    playlist = parse_playlist(json.loads((source / PLAYLIST_FILE).read_text()))
    staged = store.staging()
    for name in playlist.files():
        (staged / name).write_bytes((source / name).read_bytes())
    store.commit(staged, playlist)


def test_versions_switch_roll_back_and_only_two_stay(tmp_path: Path) -> None:
    store = PromoStore(tmp_path / "promo")
    store.prepare()
    assert store.current() is None
    for n in range(1, 4):
        _install(store, playlist_dir(tmp_path / f"src{n}", f"v{n}", [("a", RED)]))
    current, previous = store.current(), store.previous()
    assert current is not None
    assert previous is not None
    assert (current.playlist.version, previous.playlist.version) == ("v3", "v2")
    assert sorted(p.name for p in (tmp_path / "promo/versions").iterdir()) == [
        "000002-v2",
        "000003-v3",
    ]
    assert store.rollback().playlist.version == "v2"
    assert store.previous().playlist.version == "v3"  # type: ignore[union-attr]
    assert store.rollback().playlist.version == "v3"  # and back again
    fresh = PromoStore(tmp_path / "empty")
    fresh.prepare()
    with pytest.raises(NoPreviousError):
        fresh.rollback()


def test_a_reader_never_sees_a_half_written_version(tmp_path: Path) -> None:
    """A reader resolving ``current`` over and over while versions are installed finds a
    complete version every time: its playlist and every file, at full size."""
    store = PromoStore(tmp_path / "promo")
    store.prepare()
    sources = [
        playlist_dir(tmp_path / f"src{n}", f"v{n}", [(f"e{k}", RED) for k in range(4)])
        for n in range(12)
    ]
    sizes = {p.name: p.stat().st_size for p in sources[0].glob("*.png")}
    _install(store, sources[0])
    seen: Set[str] = set()
    problems: List[str] = []
    done = threading.Event()

    def reader() -> None:
        while not done.is_set():
            try:
                directory = os.path.realpath(tmp_path / "promo" / CURRENT)
                document = json.loads(Path(directory, PLAYLIST_FILE).read_text())
                for entry in document["entries"]:
                    size = Path(directory, entry["file"]).stat().st_size
                    if size != sizes[entry["file"]]:
                        problems.append(f"{directory}: {entry['file']} has {size} bytes")
                seen.add(document["version"])
            except FileNotFoundError:
                continue  # pruned under the reader, two versions later: it resolves again
            except ValueError as err:
                problems.append(f"half-written playlist: {err}")

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for source in sources[1:]:
            _install(store, source)
    finally:
        done.set()
        thread.join()
    assert problems == []
    assert len(seen) >= 2
    assert store.current().playlist.version == "v11"  # type: ignore[union-attr]


# -- the service, downloading from a real server ---------------------------------------------


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[MediaServer]:
    server = MediaServer(tmp_path / "served")
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def service(tmp_path: Path) -> AsyncIterator[PromoService]:
    bus = EventBus()
    service = PromoService(bus, lambda: SETTINGS, tmp_path / "state" / "promo")
    service.changes: List[PlaylistChanged] = []  # type: ignore[attr-defined]
    bus.subscribe(PlaylistChanged, service.changes.append)  # type: ignore[attr-defined]
    await service.start()
    yield service
    await service.stop()


def _names(directory: Path) -> List[str]:
    return sorted(p.name for p in directory.iterdir())


def _signed(server: MediaServer, version: str, posters: Any) -> str:
    playlist_dir(server.directory, version, posters)
    return json.dumps(SIGNER.sign(manifest_for(server.directory, server.base_url)))


async def test_update_downloads_checks_and_switches(
    server: MediaServer, service: PromoService
) -> None:
    result = await service.update(_signed(server, "v1", [("a", RED), ("b", GREEN)]))
    assert (result["version"], result["entries"]) == ("v1", 2)
    assert sorted(server.requests) == ["a.png", "b.png"]
    assert service.changes[-1].version == "v1"  # type: ignore[attr-defined]
    assert _names(Path(service.directory)) == ["a.png", "b.png", PLAYLIST_FILE]


@pytest.mark.parametrize(
    ("spoil", "error", "message"),
    [
        ("hash", DownloadError, "b.png: its SHA-256 is not the manifest's"),
        ("longer", DownloadError, "b.png: the server offers"),
        ("missing", DownloadError, "b.png: the server answered HTTP 404"),
        ("not_an_image", MediaError, "entries b: b.png: not a decodable image"),
    ],
)
async def test_a_failed_update_leaves_the_playlist_in_force(
    server: MediaServer, service: PromoService, spoil: str, error: type, message: str
) -> None:
    await service.update(_signed(server, "v1", [("a", RED), ("b", GREEN)]))
    before = service.directory
    signed = _signed(server, "v2", [("a", BLUE), ("b", BLUE)])
    good = (server.directory / "b.png").read_bytes()
    if spoil == "hash":
        server.overrides["b.png"] = bytes(b ^ 1 for b in good[:1]) + good[1:]
    elif spoil == "longer":
        server.overrides["b.png"] = good + b"x"
    elif spoil == "missing":
        (server.directory / "b.png").unlink()
    else:  # the right bytes signed, but they are no picture
        bad = b"\x89PNG\r\n\x1a\n" + bytes(200)
        (server.directory / "b.png").write_bytes(bad)
        signed = json.dumps(SIGNER.sign(manifest_for(server.directory, server.base_url)))
    with pytest.raises(error) as caught:
        await service.update(signed)
    assert str(caught.value).startswith(message), str(caught.value)
    assert (service.version, service.directory) == ("v1", before)
    assert _names(Path(before).parents[1] / "staging") == []  # nothing left over
    assert _names(Path(before)) == ["a.png", "b.png", PLAYLIST_FILE]


async def test_load_directory_and_rollback(tmp_path: Path, service: PromoService) -> None:
    await service.load_directory(str(playlist_dir(tmp_path / "one", "one", [("a", RED)])))
    await service.load_directory(str(playlist_dir(tmp_path / "two", "two", [("a", GREEN)])))
    assert (await service.rollback())["version"] == "one"
    assert service.version == "one"
    assert [c.version for c in service.changes] == ["", "one", "two", "one"]  # type: ignore[attr-defined]
    with pytest.raises(ManifestError, match="expected an absolute path"):
        await service.load_directory("relative/dir")
    broken = playlist_dir(tmp_path / "three", "three", [("a", RED)])
    (broken / "a.png").write_bytes(b"not a picture")
    with pytest.raises(MediaError):
        await service.load_directory(str(broken))
    assert service.version == "one"


def test_picture_sizes_are_read_before_decoding(tmp_path: Path) -> None:
    for suffix in (".png", ".jpg"):
        data = poster(tmp_path / f"p{suffix}", RED, size=(270, 480)).read_bytes()
        assert media.header_size(data) == (270, 480)
    # A JPEG that declares 60000×60000 in its frame header is refused unread.
    bomb = bytes.fromhex(
        "ffd8"  # SOI
        "ffe0 0010 4a46494600 0101 00 0001 0001 0000"  # APP0 JFIF
        "ffc0 0011 08 ea60 ea60 03 012200 021101 031101"  # SOF0: 8 bit, 60000×60000, 3 parts
    )
    assert media.header_size(bomb) == (60000, 60000)
    (tmp_path / "bomb.jpg").write_bytes(bomb + bytes(100))
    with pytest.raises(MediaError, match="60000×60000 px, over 8192 px a side"):
        media.check(tmp_path / "bomb.jpg", "image")


@pytest.mark.fuzz
@given(st.binary(max_size=300), st.sampled_from([b"", media.PNG, media.JPEG, b"\xff\xd8\xff\xe0"]))
def test_fuzz_picture_headers(tail: bytes, start: bytes) -> None:
    size = media.header_size(start + tail)
    assert size is None or (0 <= size[0] < 2**32 and 0 <= size[1] < 2**32)
    assert media.sniff(start + tail) in (None, "image", "video")
