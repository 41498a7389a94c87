"""OFD documents for the preview and the A4 printer, in memory only (§8 d).

The kiosk shows and prints an OFD (GB/T 33190) certificate through :mod:`govkiosk.ofd`'s
renderer:

- :func:`render_pages` — every page as PNG bytes at the preview's resolution, like
  :func:`.preview.render_pages` for PDF;
- :func:`print_pdf` — the whole document as a PDF for CUPS: each page rendered at print
  resolution (300 dpi by default) and placed on a page of the OFD's own size, so the
  printer gets what the preview showed at full resolution.

Both run in the loop's default executor (rendering is CPU work) under a time limit; their
results are ``bytearray``s the session zeroes when it ends. Nothing touches the disk:
images are encoded into in-memory buffers. Failures raise :class:`.errors.PreviewError`
(the preview) and :class:`.errors.PrintError` ``printer.render`` (the print).
"""

from __future__ import annotations

import asyncio
import io
from typing import Any, List, Sequence

from ..timeouts import wait_for
from .errors import PreviewError, PrintError

#: The print resolution unless the session settings say otherwise.
PRINT_DPI = 300
#: PDF page JPEG quality: text and the seal's red edge stay sharp at 300 dpi.
JPEG_QUALITY = 90


def _images(data: bytes, dpi: int) -> List[Any]:
    """Every page of the OFD ``data`` as a PIL RGB image at ``dpi``."""
    from ..ofd.render import render_document  # noqa: PLC0415 - the renderer is heavy

    return list(render_document(data, dpi))


def png_pages(data: bytes, dpi: int) -> List[bytearray]:
    """Blocking: every page as PNG bytes."""
    pages = []
    for image in _images(data, dpi):
        out = io.BytesIO()
        image.save(out, "PNG", compress_level=1)
        pages.append(bytearray(out.getbuffer()))
        _drop(out)
    return pages


def pdf_of_pages(images: Sequence[Any], dpi: int) -> bytearray:
    """Blocking: the page images as one PDF, each page the image's size at ``dpi``."""
    if not images:
        raise ValueError("no pages")
    out = io.BytesIO()
    first, rest = images[0], list(images[1:])
    first.save(
        out,
        "PDF",
        save_all=True,
        append_images=rest,
        resolution=float(dpi),
        quality=JPEG_QUALITY,
        subsampling=0,
        title="certificate",
        creator="govkiosk",
    )
    document = bytearray(out.getbuffer())
    _drop(out)
    return document


def pdf_pages(data: bytes, dpi: int) -> bytearray:
    """Blocking: the OFD ``data`` as a raster PDF at ``dpi``."""
    return pdf_of_pages(_images(data, dpi), dpi)


def _drop(buffer: io.BytesIO) -> None:
    """Zero an in-memory encoder buffer before it is freed."""
    view = buffer.getbuffer()
    view[:] = bytes(len(view))
    view.release()
    buffer.close()


async def render_pages(data: bytes, dpi: int = 50, timeout: float = 20.0) -> List[bytearray]:
    """Every page of the OFD as PNG bytes, rendered off the loop."""
    loop = asyncio.get_running_loop()
    try:
        return await wait_for(loop.run_in_executor(None, png_pages, data, dpi), timeout)
    except asyncio.TimeoutError:
        raise PreviewError(f"preview: the OFD took longer than {timeout:g} s to render") from None
    except Exception as err:
        raise PreviewError(f"preview: the OFD cannot be rendered: {err}") from err


async def print_pdf(data: bytes, dpi: int = PRINT_DPI, timeout: float = 30.0) -> bytearray:
    """The OFD as a PDF for the A4 printer, rendered off the loop."""
    loop = asyncio.get_running_loop()
    try:
        return await wait_for(loop.run_in_executor(None, pdf_pages, data, dpi), timeout)
    except asyncio.TimeoutError:
        raise PrintError(
            "printer.render", f"the OFD took longer than {timeout:g} s to render for print"
        ) from None
    except Exception as err:
        raise PrintError("printer.render", f"the OFD cannot be rendered for print: {err}") from err
