"""Fetching a manifest's media files: size bounded while it arrives, hash checked at the
end, each file within its time limit; no redirects (a redirect could leave https)."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path
from typing import BinaryIO

import aiohttp

from ..timeouts import wait_for
from .errors import DownloadError
from .manifest import MediaFile
from .settings import PromoSettings

CHUNK = 256 * 1024


async def fetch(
    session: aiohttp.ClientSession, media: MediaFile, dest: Path, settings: PromoSettings
) -> None:
    """Write ``media`` to ``dest``; :class:`DownloadError` unless exactly its size and hash."""
    try:
        await wait_for(_fetch(session, media, dest), settings.download_timeout)
    except asyncio.TimeoutError:
        raise DownloadError(
            f"{media.name}: not downloaded within {settings.download_timeout:g} s"
        ) from None
    except aiohttp.ClientError as err:
        raise DownloadError(f"{media.name}: download failed: {err or type(err).__name__}") from err
    except OSError as err:
        raise DownloadError(f"{media.name}: cannot be written: {err.strerror}") from err


async def _fetch(session: aiohttp.ClientSession, media: MediaFile, dest: Path) -> None:
    loop = asyncio.get_running_loop()
    async with session.get(media.url, allow_redirects=False) as response:
        if response.status != 200:
            raise DownloadError(f"{media.name}: the server answered HTTP {response.status}")
        if response.content_length is not None and response.content_length != media.size:
            raise DownloadError(
                f"{media.name}: the server offers {response.content_length} bytes, "
                f"the manifest says {media.size}"
            )
        digest = hashlib.sha256()
        received = 0
        handle: BinaryIO = await loop.run_in_executor(None, dest.open, "wb")
        try:
            async for chunk in response.content.iter_chunked(CHUNK):
                received += len(chunk)
                if received > media.size:
                    raise DownloadError(
                        f"{media.name}: more than the {media.size} bytes the manifest says"
                    )
                digest.update(chunk)
                await loop.run_in_executor(None, handle.write, chunk)
        finally:
            await loop.run_in_executor(None, handle.close)
    if received != media.size:
        raise DownloadError(
            f"{media.name}: {received} bytes received, the manifest says {media.size}"
        )
    if digest.hexdigest() != media.sha256:
        raise DownloadError(f"{media.name}: its SHA-256 is not the manifest's")
