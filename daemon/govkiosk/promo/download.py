"""Fetching a manifest's media files: size bounded while it arrives, hash checked at the
end, each file within its time limit; no redirects (a redirect could leave https)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp

from ..checkedfetch import fetch_checked
from ..timeouts import wait_for
from .errors import DownloadError
from .manifest import MediaFile
from .settings import PromoSettings


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
    await fetch_checked(
        session,
        media.url,
        dest,
        name=media.name,
        size=media.size,
        sha256=media.sha256,
        error=DownloadError,
    )
