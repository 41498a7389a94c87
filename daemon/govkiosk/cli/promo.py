"""``govkioskctl promo …``: the promotion screen's playlist (docs/promo.md).

``load DIR|MANIFEST`` installs a local playlist directory (``DIR/playlist.json`` and its
files; the daemon's user must be able to read it) or a signed manifest file (its media
downloaded by the daemon); ``status``; ``rollback``. Offline: ``keygen`` writes a content
key and prints the ``[[promo.content_keys]]`` table that pins it; ``sign`` turns a playlist
directory (with ``--base-url`` where its files will be served) or an unsigned manifest into
a signed manifest. Exit status: 0 done; 1 refused (the reason on stderr); 2 usage;
69 daemon unreachable.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import json
import os
import sys
from pathlib import Path
from typing import Any, Dict, List

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ..contract.connection import plain
from ..contract.names import PROMO_INTERFACE
from ..contract.promo import PLAYLIST_FILE, parse_playlist
from ..dbus.call import CallError, call
from ..promo.manifest import sign

EXIT_REFUSED = 1
EXIT_USAGE = 2
EXIT_UNAVAILABLE = 69
#: Long enough for a manifest's downloads (the daemon bounds each file itself).
LOAD_TIMEOUT = 3600.0


def parse_args(argv: List[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="govkioskctl promo", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--bus",
        default=os.environ.get("GOVKIOSK_BUS", "system"),
        help='"system" (default), "session" or a D-Bus address; or set GOVKIOSK_BUS',
    )
    sub = parser.add_subparsers(dest="promo_command", required=True)
    load = sub.add_parser("load", help="install a playlist directory or a signed manifest file")
    load.add_argument("path", type=Path)
    sub.add_parser("status", help="the playlist in force")
    sub.add_parser("rollback", help="play the previous playlist again")
    keygen = sub.add_parser("keygen", help="write a new content key (PEM) and print its pin")
    keygen.add_argument("--out", type=Path, required=True, help="the private key file to write")
    keygen.add_argument("--key-id", required=True, help="the id the kiosks pin it under")
    signer = sub.add_parser("sign", help="sign a playlist directory or an unsigned manifest")
    signer.add_argument("source", type=Path, help="a playlist directory or a manifest JSON file")
    signer.add_argument("--key", type=Path, required=True, help="the content key (PEM)")
    signer.add_argument("--key-id", required=True)
    signer.add_argument(
        "--base-url", help="for a directory: the URL its files are served under (https://…/)"
    )
    signer.add_argument("--out", type=Path, help="write here instead of standard output")
    return parser.parse_args(argv)


def main(argv: List[str]) -> int:
    args = parse_args(argv)
    try:
        if args.promo_command == "keygen":
            return _keygen(args.out, args.key_id)
        if args.promo_command == "sign":
            return _sign(args)
        return asyncio.run(_daemon(args))
    except _Refused as err:
        print(f"govkioskctl promo: {err}", file=sys.stderr)
        return err.status


class _Refused(Exception):
    def __init__(self, message: str, status: int = EXIT_REFUSED) -> None:
        super().__init__(message)
        self.status = status


async def _daemon(args: argparse.Namespace) -> int:
    if args.promo_command == "status":
        result = await _call(args.bus, "GetState")
    elif args.promo_command == "rollback":
        result = await _call(args.bus, "Rollback")
    elif args.path.is_dir():
        result = await _call(args.bus, "LoadDirectory", "s", str(args.path.resolve()))
    else:
        try:
            text = args.path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as err:
            raise _Refused(f"{args.path}: cannot be read: {err}", EXIT_USAGE) from err
        result = await _call(args.bus, "Update", "s", text)
    print(json.dumps(result, ensure_ascii=False, indent=2))
    return 0


async def _call(bus: str, member: str, signature: str = "", *body: Any) -> Dict[str, Any]:
    try:
        (reply,) = await call(bus, PROMO_INTERFACE, member, signature, body, timeout=LOAD_TIMEOUT)
    except CallError as err:
        text = str(err)
        unreachable = "cannot reach" in text or "org.freedesktop" in text
        raise _Refused(text, EXIT_UNAVAILABLE if unreachable else EXIT_REFUSED) from err
    result: Dict[str, Any] = plain(reply)
    return result


def _keygen(out: Path, key_id: str) -> int:
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    try:
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise _Refused(f"{out} exists; a key is never overwritten", EXIT_USAGE) from None
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    public = key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    print("[[promo.content_keys]]")
    print(f'key_id = "{key_id}"')
    print(f'public_key = "{base64.b64encode(public).decode("ascii")}"')
    return 0


def _load_key(path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as err:
        raise _Refused(f"{path}: not a readable unencrypted PEM key: {err}", EXIT_USAGE) from err
    if not isinstance(key, Ed25519PrivateKey):
        raise _Refused(f"{path}: not an Ed25519 key", EXIT_USAGE)
    return key


def _sign(args: argparse.Namespace) -> int:
    key = _load_key(args.key)
    if args.source.is_dir():
        if not args.base_url:
            raise _Refused("signing a directory needs --base-url", EXIT_USAGE)
        manifest = manifest_for_directory(args.source, args.base_url)
    else:
        try:
            manifest = json.loads(args.source.read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            raise _Refused(f"{args.source}: not a readable JSON file: {err}", EXIT_USAGE) from err
    text = json.dumps(sign(manifest, key, args.key_id), ensure_ascii=False, indent=1) + "\n"
    if args.out is None:
        sys.stdout.write(text)
    else:
        args.out.write_text(text, encoding="utf-8")
    return 0


def manifest_for_directory(directory: Path, base_url: str) -> Dict[str, Any]:
    """An unsigned manifest: the directory's playlist, each file's URL, size and SHA-256."""
    try:
        document = json.loads((directory / PLAYLIST_FILE).read_text(encoding="utf-8"))
        playlist = parse_playlist(document)
    except (OSError, ValueError) as err:
        raise _Refused(f"{directory / PLAYLIST_FILE}: {err}", EXIT_USAGE) from err
    base = base_url if base_url.endswith("/") else base_url + "/"
    files: Dict[str, Any] = {}
    for name in sorted(playlist.files()):
        data = _read(directory / name)
        files[name] = {
            "url": base + name,
            "size": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
        }
    return {**playlist.to_json(), "files": files}


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as err:
        raise _Refused(f"{path}: cannot be read: {err.strerror}", EXIT_USAGE) from err
