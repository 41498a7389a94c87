"""OFD documents for the preview and the A4 printer, in memory only (§8 d).

The kiosk shows and prints an OFD (GB/T 33190) certificate through :mod:`govkiosk.ofd`'s
renderer:

- :func:`render_pages` — every page as PNG bytes at the preview's resolution, like
  :func:`.preview.render_pages` for PDF;
- :class:`PrintRender` — the whole document as a PDF for CUPS: each page rendered at print
  resolution (300 dpi by default) and placed, losslessly compressed, on a page of the
  OFD's own size, so the printer gets what the preview showed at full resolution.

The seals' pictures are drawn at their ``StampAnnot`` places, taken from each signature's
SES seal (:func:`govkiosk.security.ofdseal.stamps`). Both run in the loop's default
executor (rendering is CPU work) under a time limit; their results are ``bytearray``s the
session zeroes when it ends. Nothing touches the disk. Failures raise :class:`.errors.PreviewError`
(the preview) and :class:`.errors.PrintError` ``printer.render`` (the print).
"""

from __future__ import annotations

import asyncio
from typing import Any, List, Tuple

from ..timeouts import wait_for
from .errors import PreviewError, PrintError

#: The print resolution unless the session settings say otherwise.
PRINT_DPI = 300


def _document(data: bytes) -> Tuple[Any, List[Any]]:
    """The OFD's document model and its seals' pictures at their stamps."""
    from ..ofd.model import read_ofd  # noqa: PLC0415 - the reader and renderer are heavy
    from ..security.ofdseal import stamps  # noqa: PLC0415

    document = read_ofd(data)
    return document, stamps(document)


def png_pages(data: bytes, dpi: int) -> List[bytearray]:
    """Blocking: every page as PNG bytes, the seals drawn at their stamps."""
    from ..ofd.render import render_pngs  # noqa: PLC0415

    document, pictures = _document(data)
    return render_pngs(document, dpi, pictures)


def pdf_pages(data: bytes, dpi: int) -> bytearray:
    """Blocking: the OFD ``data`` as a PDF of its pages rendered at ``dpi``."""
    from ..ofd.render import render_pdf  # noqa: PLC0415

    document, pictures = _document(data)
    return render_pdf(document, dpi, pictures)


async def render_pages(data: bytes, dpi: int = 50, timeout: float = 20.0) -> List[bytearray]:
    """Every page of the OFD as PNG bytes, rendered off the loop."""
    loop = asyncio.get_running_loop()
    try:
        return await wait_for(loop.run_in_executor(None, png_pages, data, dpi), timeout)
    except asyncio.TimeoutError:
        raise PreviewError(f"preview: the OFD took longer than {timeout:g} s to render") from None
    except Exception as err:
        raise PreviewError(f"preview: the OFD cannot be rendered: {err}") from err


def _zero(buffer: bytearray) -> None:
    buffer[:] = bytes(len(buffer))


class PrintRender:
    """The print PDF of an OFD rendered ahead, while the citizen looks at the preview, so
    that choosing "print" sends it to CUPS at once (a 2-page certificate takes about as
    long to render at 300 dpi as the print target allows).

    :meth:`discard` is safe whenever the session ends: a PDF already rendered is zeroed,
    one still rendering is zeroed as soon as it is done.
    """

    def __init__(self, data: bytes, dpi: int = PRINT_DPI) -> None:
        self._discarded = False
        self._future = asyncio.get_running_loop().run_in_executor(None, self._run, data, dpi)

    def _run(self, data: bytes, dpi: int) -> bytearray:
        document = pdf_pages(data, dpi)
        if self._discarded:
            _zero(document)
        return document

    async def result(self, timeout: float) -> bytearray:
        """The PDF; :class:`.errors.PrintError` ``printer.render`` if it cannot be had."""
        try:
            return await wait_for(asyncio.shield(self._future), timeout)
        except asyncio.TimeoutError:
            raise PrintError(
                "printer.render", f"the OFD took longer than {timeout:g} s to render for print"
            ) from None
        except PrintError:
            raise
        except Exception as err:
            raise PrintError(
                "printer.render", f"the OFD cannot be rendered for print: {err}"
            ) from err

    def discard(self) -> None:
        """Forget the PDF: zero it now, or when the rendering finishes."""
        self._discarded = True

        def zero(done: asyncio.Future[bytearray]) -> None:
            if not done.cancelled() and done.exception() is None:
                _zero(done.result())

        self._future.add_done_callback(zero)
