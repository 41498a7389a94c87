"""The supervised ``promo`` service: installs playlists (a signed manifest's downloads, or a
local directory), rolls back, and says which version plays (:class:`PlaylistChanged`).

One change at a time (a lock). Everything is checked before the switch: signature, file
table, every download's size and hash, every file's bytes and decoding; a failure at any
point removes the half-built version and leaves the playlist in force playing.
"""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, Optional, TypeVar

import aiohttp

from ..bus import Event, EventBus
from ..contract.promo import PLAYLIST_FILE, Playlist, PlaylistError, parse_playlist
from ..supervisor import Service
from . import media
from .download import fetch
from .errors import ManifestError, PromoError, StoreError
from .manifest import MIB, parse_signed
from .settings import PromoSettings
from .store import Installed, PromoStore

_LOGGER = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class PlaylistChanged(Event):
    """The playlist in force: its version and its directory (empty: none installed)."""

    version: str
    directory: str


class PromoService(Service):
    name = "promo"

    def __init__(
        self, bus: EventBus, settings: Callable[[], PromoSettings], default_root: Path
    ) -> None:
        self._bus = bus
        self._settings = settings
        self._default_root = default_root
        self._lock = asyncio.Lock()
        self._installed: Optional[Installed] = None
        self._store: Optional[PromoStore] = None

    @property
    def version(self) -> str:
        return self._installed.playlist.version if self._installed else ""

    @property
    def directory(self) -> str:
        return str(self._installed.directory) if self._installed else ""

    def store(self) -> PromoStore:
        configured = self._settings().dir
        root = Path(configured) if configured else self._default_root
        if self._store is None or self._store.root != root:
            self._store = PromoStore(root)
        return self._store

    async def start(self) -> None:
        store = self.store()
        await self._blocking(store.prepare)
        self._installed = await self._blocking(store.current)
        self._announce()
        _LOGGER.info("promo: playing %s", self.version or "nothing (no playlist installed)")

    def state(self) -> Dict[str, Any]:
        current = self._installed
        return {
            "version": self.version,
            "directory": self.directory,
            "entries": len(current.playlist.entries) if current else 0,
        }

    async def update(self, document: str) -> Dict[str, Any]:
        """Install a signed manifest's playlist (``promo.update``, ``govkioskctl promo load``)."""
        settings = self._settings()
        manifest = parse_signed(document, settings)
        async with self._lock:
            store = self.store()
            staged = await self._blocking(store.staging)
            try:
                timeout = aiohttp.ClientTimeout(
                    total=None,
                    sock_connect=settings.connect_timeout,
                    sock_read=settings.connect_timeout,
                )
                async with aiohttp.ClientSession(timeout=timeout) as session:
                    for file in manifest.files:
                        await fetch(session, file, staged / file.name, settings)
                await self._check_media(staged, manifest.playlist)
                installed = await self._blocking(store.commit, staged, manifest.playlist)
            except BaseException:
                await self._blocking(shutil.rmtree, staged, True)
                raise
        return self._switched(
            installed, f"manifest signed by {manifest.key_id}", manifest.total_size
        )

    async def load_directory(self, path: str) -> Dict[str, Any]:
        """Install a local playlist: ``DIR/playlist.json`` and its files (integrators)."""
        source = Path(path)
        if not source.is_absolute():
            raise ManifestError(f"{path}: expected an absolute path")
        async with self._lock:
            store = self.store()
            playlist = await self._blocking(_read_playlist, source)
            staged = await self._blocking(store.staging)
            try:
                size = await self._blocking(_copy_files, source, staged, playlist, self._settings())
                await self._check_media(staged, playlist)
                installed = await self._blocking(store.commit, staged, playlist)
            except BaseException:
                await self._blocking(shutil.rmtree, staged, True)
                raise
        return self._switched(installed, f"directory {source}", size)

    async def rollback(self) -> Dict[str, Any]:
        async with self._lock:
            installed = await self._blocking(self.store().rollback)
        return self._switched(installed, "rollback", 0)

    async def _check_media(self, staged: Path, playlist: Playlist) -> None:
        for entry in playlist.entries:
            try:
                await self._blocking(media.check, staged / entry.file, entry.kind)
            except PromoError as err:
                raise type(err)(f"entries {entry.name}: {err}") from None

    def _switched(self, installed: Installed, how: str, size: int) -> Dict[str, Any]:
        previous = self.version
        self._installed = installed
        self._announce()
        _LOGGER.info(
            "promo: playing %s (was %s), from %s", self.version, previous or "nothing", how
        )
        return {
            "version": self.version,
            "previous": previous,
            "entries": len(installed.playlist.entries),
            "bytes": size,
        }

    def _announce(self) -> None:
        self._bus.publish(PlaylistChanged(self.version, self.directory))

    async def _blocking(self, function: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(None, function, *args)


def _read_playlist(source: Path) -> Playlist:
    try:
        document = json.loads((source / PLAYLIST_FILE).read_text(encoding="utf-8"))
    except OSError as err:
        raise ManifestError(f"{source / PLAYLIST_FILE}: cannot be read: {err.strerror}") from err
    except ValueError as err:
        raise ManifestError(f"{source / PLAYLIST_FILE}: not JSON: {err}") from None
    try:
        return parse_playlist(document)
    except PlaylistError as err:
        raise ManifestError(f"{source / PLAYLIST_FILE}: {err}") from None


def _copy_files(source: Path, staged: Path, playlist: Playlist, settings: PromoSettings) -> int:
    total = 0
    for name in sorted(playlist.files()):
        path = source / name
        try:
            size = path.stat().st_size
            if size > settings.max_file_mb * MIB:
                raise ManifestError(f"{name}: {size} bytes, over [promo] max_file_mb")
            total += size
            if total > settings.max_total_mb * MIB:
                raise ManifestError(
                    f"the files are over [promo] max_total_mb ({total} bytes so far)"
                )
            shutil.copyfile(path, staged / name)
        except OSError as err:
            raise StoreError(f"{path}: cannot be copied: {err.strerror}") from err
    return total
