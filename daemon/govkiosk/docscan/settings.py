"""``[docscan]``: how the document camera's pages are captured and written (§6.2 b)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Literal, Tuple

from ..fields import seconds, setting

#: Paper sizes, millimetres, portrait (short side, long side).
PAPERS: Dict[str, Tuple[float, float]] = {
    "A4": (210.0, 297.0),
    "A5": (148.0, 210.0),
    "B5": (176.0, 250.0),
    "letter": (215.9, 279.4),
}


def _fraction(value: float) -> bool:
    return 0 < value <= 0.5


@dataclass(frozen=True)
class DocScanSettings:
    """Output of a scanned page and when the camera captures it by itself."""

    #: Pixels across the page's short side: 1240 is 150 dpi on A4, 2480 is 300 dpi.
    width: int = setting(
        1240,
        expect="a whole number of pixels between 600 and 5000",
        check=lambda v: 600 <= v <= 5000,
    )
    #: The paper the page is taken to be (its aspect): A4, A5, B5 or letter.
    paper: str = setting(
        "A4", expect=f"one of {', '.join(sorted(PAPERS))}", check=lambda v: v in PAPERS
    )
    #: What a scan is sent as.
    format: Literal["pdf", "jpeg", "png"] = "pdf"
    #: Keep colour (a red seal stays red); false gives grey pages.
    colour: bool = True
    #: Turn the page so its text lines run level (residual tilt up to ±5°).
    deskew: bool = True
    #: JPEG quality, also of the image inside a PDF.
    jpeg_quality: int = setting(
        85, expect="a whole number between 30 and 100", check=lambda v: 30 <= v <= 100
    )
    #: The page must lie this still for this long before it is captured.
    steady_hold: float = seconds(0.8)
    #: "Still": no corner moved more than this share of the page's diagonal.
    steady_tolerance: float = setting(
        0.01, expect="a share of the page's diagonal, > 0 and at most 0.5", check=_fraction
    )
    #: A page gone this long has left: the next page placed is captured again.
    steady_gone_after: float = seconds(0.5)
    #: A page moved by more than this share of its diagonal since it was captured counts
    #: as a new page.
    steady_new_page: float = setting(
        0.15, expect="a share of the page's diagonal, > 0 and at most 0.5", check=_fraction
    )
