"""One file fetched over HTTP(S) and checked while it arrives: exactly the size a signed
manifest gives (more is refused mid-stream), then its SHA-256; no redirects (a redirect
could leave https). Promotion media and update packages both arrive this way."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path
from typing import BinaryIO, Callable

import aiohttp

CHUNK = 256 * 1024


async def fetch_checked(
    session: aiohttp.ClientSession,
    url: str,
    dest: Path,
    *,
    name: str,
    size: int,
    sha256: str,
    error: Callable[[str], Exception],
) -> None:
    """Write ``url`` to ``dest``; raises ``error(reason)`` (reason starting with ``name``)
    unless the answer is 200 with exactly ``size`` bytes hashing to ``sha256``."""
    loop = asyncio.get_running_loop()
    async with session.get(url, allow_redirects=False) as response:
        if response.status != 200:
            raise error(f"{name}: the server answered HTTP {response.status}")
        if response.content_length is not None and response.content_length != size:
            raise error(
                f"{name}: the server offers {response.content_length} bytes,"
                f" the manifest says {size}"
            )
        digest = hashlib.sha256()
        received = 0
        handle: BinaryIO = await loop.run_in_executor(None, dest.open, "wb")
        try:
            async for chunk in response.content.iter_chunked(CHUNK):
                received += len(chunk)
                if received > size:
                    raise error(f"{name}: more than the {size} bytes the manifest says")
                digest.update(chunk)
                await loop.run_in_executor(None, handle.write, chunk)
        finally:
            await loop.run_in_executor(None, handle.close)
    if received != size:
        raise error(f"{name}: {received} bytes received, the manifest says {size}")
    if digest.hexdigest() != sha256:
        raise error(f"{name}: its SHA-256 is not the manifest's")
