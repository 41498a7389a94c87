"""Captured pages as one PDF (``doccam.capture``): poppler renders each page with its image."""

from __future__ import annotations

import cv2
import numpy as np

from govkiosk.printing.preview import render_pages
from govkiosk.webapps.pages import pages_pdf
from govkiosk.webapps.session import count_pages


def _jpeg(image: np.ndarray) -> bytes:  # type: ignore[type-arg]
    ok, data = cv2.imencode(".jpg", image)
    assert ok
    return bytes(data.tobytes())


async def test_portrait_colour_and_landscape_grey_pages_render() -> None:
    red = np.zeros((400, 300, 3), np.uint8)
    red[:, :, 2] = 220  # BGR: a red portrait page
    grey = np.full((200, 400), 90, np.uint8)  # a grey landscape page
    pdf = pages_pdf(
        [
            (_jpeg(red), (300, 400), False, (210.0, 297.0)),
            (_jpeg(grey), (400, 200), True, (210.0, 297.0)),
        ]
    )
    assert count_pages(bytes(pdf)) == 2
    first, second = await render_pages(bytes(pdf), 30)
    one = cv2.imdecode(np.frombuffer(bytes(first), np.uint8), cv2.IMREAD_COLOR)
    two = cv2.imdecode(np.frombuffer(bytes(second), np.uint8), cv2.IMREAD_COLOR)
    assert one.shape[0] > one.shape[1]  # A4 upright
    assert two.shape[1] > two.shape[0]  # A4 turned to the landscape image
    b, g, r = one[one.shape[0] // 2, one.shape[1] // 2]
    assert (r > 180, g < 60, b < 60) == (True, True, True)  # the red image fills the middle
    assert abs(int(two[two.shape[0] // 2, two.shape[1] // 2][0]) - 90) < 12
