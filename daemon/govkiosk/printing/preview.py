"""The document's pages as PNG images, in memory only (§8 d).

Poppler renders: ``pdfinfo -`` counts the pages, ``pdftocairo -png -singlefile -f N
-l N -r DPI - -`` draws one page, the PDF on its stdin and the PNG on its stdout.
``pdftoppm`` is not used: given ``-`` as its output it writes a file named ``-.png``
in its working directory instead of to stdout (poppler 22.12), which would leave the
citizen's document on disk. The children run off the event loop as subprocesses, in
``/`` so that nothing they might write lands anywhere useful, and each has a timeout.

Pages come back as ``bytearray``s so the session can zero them when it ends.
"""

from __future__ import annotations

import asyncio
import re
from typing import List, Sequence

from ..timeouts import wait_for
from .errors import PreviewError

PAGES = re.compile(rb"^Pages:\s+(\d+)\s*$", re.MULTILINE)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


async def _run(argv: Sequence[str], data: bytes, timeout: float) -> bytearray:
    try:
        process = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
            cwd="/",
        )
    except OSError as err:
        raise PreviewError(f"preview: cannot run {argv[0]}: {err}") from err
    try:
        out, _ = await wait_for(process.communicate(data), timeout)
    except asyncio.TimeoutError:
        process.kill()
        await process.wait()
        raise PreviewError(f"preview: {argv[0]} took longer than {timeout:g} s") from None
    except BaseException:
        if process.returncode is None:
            process.kill()
            await process.wait()
        raise
    if process.returncode != 0:
        raise PreviewError(f"preview: {argv[0]} failed with status {process.returncode}")
    return bytearray(out)


async def count_pages(pdf: bytes, timeout: float = 10.0) -> int:
    info = await _run(["pdfinfo", "-"], pdf, timeout)
    found = PAGES.search(bytes(info))
    if found is None:
        raise PreviewError("preview: pdfinfo did not report a page count")
    return int(found.group(1))


async def render_page(pdf: bytes, page: int, dpi: int = 50, timeout: float = 10.0) -> bytearray:
    """Page ``page`` (1-based) as PNG bytes."""
    number = str(page)
    argv = ["pdftocairo", "-png", "-singlefile", "-r", str(dpi), "-f", number, "-l", number]
    image = await _run([*argv, "-", "-"], pdf, timeout)
    if not image.startswith(PNG_SIGNATURE):
        raise PreviewError(f"preview: page {page} did not render as PNG")
    return image


async def render_pages(pdf: bytes, dpi: int = 50, timeout: float = 10.0) -> List[bytearray]:
    """Every page, in order. Pages render one after another: a kiosk has few cores."""
    pages = await count_pages(pdf, timeout)
    return [await render_page(pdf, n, dpi, timeout) for n in range(1, pages + 1)]
