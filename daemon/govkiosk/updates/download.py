"""Fetching a release's packages from the site mirror over HTTPS: the mirror's certificate
checked against ``[updates] mirror_ca``, no redirects, at most the manifest's size read,
SHA-256 checked; only then is the release moved where the installer looks."""

from __future__ import annotations

import asyncio
import hashlib
import shutil
import ssl
from pathlib import Path

import aiohttp

from ..checkedfetch import fetch_checked
from ..timeouts import wait_for
from .errors import DownloadError
from .manifest import Package, Release
from .settings import UpdateSettings

CHUNK = 256 * 1024


def tls_context(settings: UpdateSettings) -> ssl.SSLContext:
    try:
        return ssl.create_default_context(cafile=settings.mirror_ca or None)
    except (OSError, ssl.SSLError) as err:
        raise DownloadError(f"[updates] mirror_ca: {err}") from err


async def fetch_release(
    release: Release, signed: bytes, incoming: Path, ready: Path, settings: UpdateSettings
) -> None:
    """Every package of ``release`` into ``incoming``, checked, then renamed to ``ready``
    (with the signed manifest as ``release.json``)."""
    if not settings.mirror:
        raise DownloadError("[updates] mirror is not set: no packages can be fetched")
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, _fresh, incoming)
    context = await loop.run_in_executor(None, tls_context, settings)
    timeout = aiohttp.ClientTimeout(
        total=None, connect=settings.connect_timeout, sock_read=settings.connect_timeout
    )
    connector = aiohttp.TCPConnector(ssl=context)
    try:
        async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
            await wait_for(_all(session, release, incoming, settings), settings.download_timeout)
    except asyncio.TimeoutError:
        raise DownloadError(
            f"release {release.version}: not downloaded within {settings.download_timeout:g} s"
        ) from None
    except aiohttp.ClientError as err:
        raise DownloadError(f"download failed: {err or type(err).__name__}") from err
    except OSError as err:
        raise DownloadError(f"cannot be written: {err.strerror}") from err
    try:
        await loop.run_in_executor(None, _publish, signed, incoming, ready)
    except OSError as err:
        raise DownloadError(f"the spool cannot be written: {err}") from err


async def _all(
    session: aiohttp.ClientSession, release: Release, incoming: Path, settings: UpdateSettings
) -> None:
    for package in release.packages:
        await _fetch(session, settings.mirror + package.file, package, incoming / package.file)


async def _fetch(session: aiohttp.ClientSession, url: str, package: Package, dest: Path) -> None:
    await fetch_checked(
        session,
        url,
        dest,
        name=package.file,
        size=package.size,
        sha256=package.sha256,
        error=DownloadError,
    )


def _fresh(directory: Path) -> None:
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True, mode=0o755)


def _publish(signed: bytes, incoming: Path, ready: Path) -> None:
    (incoming / "release.json").write_bytes(signed)
    for path in incoming.iterdir():
        path.chmod(0o644)
    shutil.rmtree(ready, ignore_errors=True)
    ready.parent.mkdir(parents=True, exist_ok=True)
    incoming.rename(ready)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()
