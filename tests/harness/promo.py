"""Promotion content for tests: a content key, posters of one colour, playlists and signed
manifests, and a media server on 127.0.0.1 (aiohttp) that can misbehave."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any, Dict, Optional, Sequence, Tuple

import cv2
import numpy as np
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from govkiosk.contract.promo import PLAYLIST_FILE
from govkiosk.promo.manifest import sign
from govkiosk.promo.settings import ContentKey, PromoSettings

KEY_ID = "publicity-test-1"
#: Poster colours (BGR) that are easy to tell apart on a screenshot.
RED, GREEN, BLUE = (40, 40, 200), (40, 180, 40), (200, 60, 30)


class ContentSigner:
    def __init__(self, key_id: str = KEY_ID) -> None:
        self.key_id = key_id
        self.key = Ed25519PrivateKey.generate()

    @property
    def public_b64(self) -> str:
        raw = self.key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        return base64.b64encode(raw).decode("ascii")

    def pin(self) -> ContentKey:
        return ContentKey(self.key_id, self.public_b64)

    def toml(self) -> str:
        return (
            f'[[promo.content_keys]]\nkey_id = "{self.key_id}"\npublic_key = "{self.public_b64}"\n'
        )

    def sign(self, manifest: Dict[str, Any]) -> Dict[str, Any]:
        return sign(manifest, self.key, self.key_id)

    def write_pem(self, path: Path) -> Path:
        path.write_bytes(
            self.key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        return path


def settings_for(signer: ContentSigner, **changes: Any) -> PromoSettings:
    values: Dict[str, Any] = {"content_keys": (signer.pin(),), "allow_http_loopback": True}
    values.update(changes)
    return PromoSettings(**values)


def poster(path: Path, colour: Tuple[int, int, int], size: Tuple[int, int] = (270, 480)) -> Path:
    """A one-colour picture with a white frame (PNG or JPEG by the suffix)."""
    width, height = size
    image = np.full((height, width, 3), colour, np.uint8)
    cv2.rectangle(image, (8, 8), (width - 9, height - 9), (255, 255, 255), 4)
    ok, data = cv2.imencode(path.suffix, image)
    assert ok
    path.write_bytes(data.tobytes())
    return path


def clip(path: Path, colour: Tuple[int, int, int], seconds: float = 2.0, fps: int = 10) -> Path:
    """A short MP4 of one colour, with a white square moving across."""
    width, height = 270, 480
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), fps, (width, height))
    assert writer.isOpened()
    for i in range(int(seconds * fps)):
        frame = np.full((height, width, 3), colour, np.uint8)
        x = int((width - 40) * i / (seconds * fps))
        cv2.rectangle(frame, (x, 220), (x + 40, 260), (255, 255, 255), -1)
        writer.write(frame)
    writer.release()
    return path


def playlist_dir(
    directory: Path,
    version: str,
    posters: Sequence[Tuple[str, Tuple[int, int, int]]],
    duration: float = 2.0,
    extra: Optional[Dict[str, Any]] = None,
) -> Path:
    """A local playlist: ``playlist.json`` and one poster per entry."""
    directory.mkdir(parents=True, exist_ok=True)
    entries = []
    for name, colour in posters:
        poster(directory / f"{name}.png", colour)
        entries.append({"name": name, "file": f"{name}.png", "duration": duration, **(extra or {})})
    document = {"format": 1, "version": version, "entries": entries}
    (directory / PLAYLIST_FILE).write_text(json.dumps(document), encoding="utf-8")
    return directory


def manifest_for(directory: Path, base_url: str) -> Dict[str, Any]:
    """The unsigned manifest of a local playlist, its files served under ``base_url``."""
    document = json.loads((directory / PLAYLIST_FILE).read_text(encoding="utf-8"))
    files = {}
    for entry in document["entries"]:
        data = (directory / entry["file"]).read_bytes()
        files[entry["file"]] = {
            "url": base_url + entry["file"],
            "size": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
        }
    return {**document, "files": files}


class MediaServer:
    """Serves a directory over HTTP on 127.0.0.1; ``overrides`` replace a file's bytes."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.overrides: Dict[str, bytes] = {}
        self.requests: list = []
        self._runner: Optional[web.AppRunner] = None
        self.port = 0

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/media/{name}", self._serve)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/media/"

    async def _serve(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        self.requests.append(name)
        if name in self.overrides:
            return web.Response(body=self.overrides[name])
        path = self.directory / name
        if not path.is_file():
            raise web.HTTPNotFound()
        return web.Response(body=path.read_bytes())

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
