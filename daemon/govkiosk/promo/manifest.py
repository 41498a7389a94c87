"""Signed promotion manifests: the playlist and, for each media file, where to fetch it,
its size and its SHA-256, signed with a pinned content key (Ed25519).

A signed manifest is a JSON object::

    {"manifest": {"format": 1, "version": "…", "entries": […],
                  "files": {"welcome.png": {"url": "https://…", "size": 48213,
                                            "sha256": "9f86d0…"}}},
     "key_id": "publicity-2026", "signature": "<base64 Ed25519>"}

The signature is over :func:`canonical` of ``manifest``: UTF-8 JSON with sorted keys and
no spaces. It is checked before anything of the manifest is looked at; then the playlist
(:mod:`govkiosk.contract.promo`) and the file table, with every limit of ``[promo]``.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import json
import re
from dataclasses import dataclass
from typing import Any, Dict, Mapping, Tuple
from urllib.parse import urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ..contract.promo import Playlist, PlaylistError, parse_playlist
from .errors import ManifestError, SignatureError
from .settings import PromoSettings

#: A signed manifest larger than this is refused unread.
MAX_DOCUMENT = 256 * 1024
MAX_URL = 2048
MIB = 1024 * 1024
SHA256 = re.compile(r"[0-9a-f]{64}")
OUTER_KEYS = frozenset({"manifest", "key_id", "signature"})
FILE_KEYS = frozenset({"url", "size", "sha256"})
LOOPBACK_NAMES = frozenset({"localhost"})


@dataclass(frozen=True)
class MediaFile:
    name: str
    url: str
    size: int
    sha256: str


@dataclass(frozen=True)
class Manifest:
    playlist: Playlist
    files: Tuple[MediaFile, ...]
    key_id: str

    @property
    def total_size(self) -> int:
        return sum(f.size for f in self.files)


def canonical(manifest: Mapping[str, Any]) -> bytes:
    """The bytes the content key signs."""
    return json.dumps(
        manifest, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def sign(manifest: Mapping[str, Any], key: Ed25519PrivateKey, key_id: str) -> Dict[str, Any]:
    """``manifest`` signed with ``key``: what ``promo.update`` carries."""
    signature = key.sign(canonical(manifest))
    return {
        "manifest": dict(manifest),
        "key_id": key_id,
        "signature": base64.b64encode(signature).decode("ascii"),
    }


def parse_signed(document: Any, settings: PromoSettings) -> Manifest:
    """A signed manifest (JSON text or its parsed object), verified and checked whole."""
    if isinstance(document, (str, bytes)):
        if len(document) > MAX_DOCUMENT:
            raise ManifestError(f"the manifest is over {MAX_DOCUMENT // 1024} KiB")
        try:
            document = json.loads(document)
        except (ValueError, RecursionError) as err:
            raise ManifestError(f"the manifest is not JSON: {err}") from None
    if not isinstance(document, Mapping) or set(document) != OUTER_KEYS:
        raise ManifestError('expected a JSON object with "manifest", "key_id" and "signature"')
    manifest, key_id, signature = (document[k] for k in ("manifest", "key_id", "signature"))
    if not isinstance(manifest, Mapping):
        raise ManifestError("manifest: expected an object")
    _verify(manifest, key_id, signature, settings)
    try:
        playlist = parse_playlist({k: v for k, v in manifest.items() if k != "files"})
    except PlaylistError as err:
        raise ManifestError(f"playlist: {err}") from None
    files = _files(manifest.get("files"), playlist, settings)
    return Manifest(playlist, files, str(key_id))


def _verify(
    manifest: Mapping[str, Any], key_id: Any, signature: Any, settings: PromoSettings
) -> None:
    if not isinstance(key_id, str) or not isinstance(signature, str):
        raise SignatureError("key_id and signature: expected strings")
    pinned = {k.key_id: k.public_key for k in settings.content_keys}
    if key_id not in pinned:
        raise SignatureError(f"key_id {key_id[:64]!r} is not a content key pinned in [promo]")
    try:
        raw = base64.b64decode(signature, validate=True)
        body = canonical(manifest)
    except (binascii.Error, ValueError, TypeError, RecursionError):
        raise SignatureError("signature: not base64, or the manifest is not plain JSON") from None
    public = Ed25519PublicKey.from_public_bytes(base64.b64decode(pinned[key_id]))
    try:
        public.verify(raw, body)
    except InvalidSignature:
        raise SignatureError(f"the signature does not verify with content key {key_id}") from None


def _files(raw: Any, playlist: Playlist, settings: PromoSettings) -> Tuple[MediaFile, ...]:
    if not isinstance(raw, Mapping):
        raise ManifestError("files: expected an object: file name → {url, size, sha256}")
    wanted = playlist.files()
    missing = sorted(wanted - set(raw))
    if missing:
        raise ManifestError(f"files: no entry for {', '.join(missing)}")
    extra = sorted(str(name)[:64] for name in raw if name not in wanted)
    if extra:
        raise ManifestError(f"files: {', '.join(extra)} not used by any entry")
    files = tuple(_file(name, raw[name], settings) for name in sorted(wanted))
    total = sum(f.size for f in files)
    if total > settings.max_total_mb * MIB:
        raise ManifestError(
            f"files: {total} bytes in all, over [promo] max_total_mb ({settings.max_total_mb} MiB)"
        )
    return files


def _file(name: str, raw: Any, settings: PromoSettings) -> MediaFile:
    where = f"files.{name}"
    if not isinstance(raw, Mapping) or set(raw) != FILE_KEYS:
        raise ManifestError(f"{where}: expected an object with url, size and sha256")
    url, size, digest = raw["url"], raw["size"], raw["sha256"]
    if isinstance(size, bool) or not isinstance(size, int) or size <= 0:
        raise ManifestError(f"{where}: size: expected a number of bytes > 0")
    if size > settings.max_file_mb * MIB:
        raise ManifestError(
            f"{where}: size: {size} bytes, over [promo] max_file_mb ({settings.max_file_mb} MiB)"
        )
    if not isinstance(digest, str) or not SHA256.fullmatch(digest):
        raise ManifestError(f"{where}: sha256: expected 64 lower-case hex digits")
    check_url(url, settings, where)
    return MediaFile(name, url, size, digest)


def check_url(url: Any, settings: PromoSettings, where: str) -> None:
    if not isinstance(url, str) or len(url) > MAX_URL or not url.isprintable():
        raise ManifestError(f"{where}: url: expected an https:// URL")
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:
        raise ManifestError(f"{where}: url: not a URL") from None
    if not host:
        raise ManifestError(f"{where}: url: no host")
    if parts.username or parts.password:
        raise ManifestError(f"{where}: url: credentials in a URL are refused")
    if parts.scheme == "https":
        return
    if parts.scheme == "http" and settings.allow_http_loopback and _loopback(host):
        return
    allowed = "https:// (or http:// to loopback with allow_http_loopback)"
    raise ManifestError(f"{where}: url: expected {allowed}, got a {parts.scheme or 'bare'} URL")


def _loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
