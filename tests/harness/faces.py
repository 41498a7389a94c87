"""Face verification test parts: the fixture photos, camera frames drawn from the camera
scenes, and a stand-in for a reader vendor's photo library built with ``cc``."""

from __future__ import annotations

import asyncio
import random
import subprocess
from pathlib import Path
from typing import AsyncIterator, Callable, Dict, Optional, Tuple

import cv2
import numpy as np

from govkiosk.devices.camera.scenes import FaceScene, render
from govkiosk.devices.idcard import simphoto

FACES = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "faces"
#: Where dlib's frontal face detector (one upsampling step) finds each fixture's face.
BOXES: Dict[str, Tuple[int, int, int, int]] = {
    "obama.jpg": (349, 142, 269, 268),
    "obama2.jpg": (171, 290, 268, 269),
    "biden.jpg": (419, 241, 322, 322),
    "lin-manuel-miranda.png": (241, 170, 322, 322),
    "alex-lacamoire.png": (184, 150, 156, 156),
}
PEOPLE = {
    "obama.jpg": "obama",
    "obama2.jpg": "obama",
    "biden.jpg": "biden",
    "lin-manuel-miranda.png": "miranda",
    "alex-lacamoire.png": "lacamoire",
}

Image = np.ndarray
Frames = Tuple[Image, Optional[Image]]


def photo(name: str) -> Image:
    image = cv2.imread(str(FACES / name), cv2.IMREAD_COLOR)
    assert image is not None, name
    return image


def card(name: str) -> bytes:
    """The fixture as a simulated card's 1,024 photo bytes (framed, shrunk, compressed)."""
    return simphoto.encode(photo(name))


def scene(name: str, scenario: str = "live") -> FaceScene:
    return FaceScene(scenario, photo(name), BOXES[name])


def turned(image: Image, box: Tuple[int, int, int, int], amount: float) -> Image:
    """``image`` with the middle of the face pushed sideways (``amount`` × face width,
    positive: to the image's right), the jaw's ends left in place — how a head turning
    towards the camera's right (the citizen's left) moves the nose between the cheeks."""
    height, width = image.shape[:2]
    x, y, w, h = box
    xs, ys = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
    sigma = 0.2 * w
    push = amount * w * np.exp(-((xs - x - w / 2) ** 2 + (ys - y - h / 2) ** 2) / (2 * sigma**2))
    return cv2.remap(
        image, xs - push.astype(np.float32), ys, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )


async def frames(
    source: Callable[[float], FaceScene] | FaceScene,
    *,
    seconds: float = 10.0,
    fps: float = 25.0,
    seed: int = 1,
    ir: bool = True,
    edit: Optional[Callable[[Image, Image], Frames]] = None,
) -> AsyncIterator[Frames]:
    """A camera at ``fps``: frames of the scene at the time since the first one (drawn on
    a thread, as a camera driver delivers them), for ``seconds``.

    ``source`` is a scene or a function of time giving one; ``edit`` changes each frame
    pair; ``ir=False`` sends no IR frame (a kiosk without an IR camera).
    """
    loop = asyncio.get_running_loop()
    rng = random.Random(seed)
    start = loop.time()
    while True:
        t = loop.time() - start
        if t > seconds:
            return
        shown = source(t) if callable(source) else source
        rgb, infrared = await loop.run_in_executor(None, render, shown, t, rng)
        if edit is not None:
            rgb, infrared = edit(rgb, infrared)
        yield rgb, (infrared if ir else None)
        await asyncio.sleep(max(0.0, start + (t + 1 / fps) - loop.time()))


# --- a stand-in for the vendor's photo library ---------------------------------------------

_STUB = r"""
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const unsigned char PIXELS[%(size)d] = {%(pixels)s};
static const unsigned char HEADER[54] = {%(header)s};

static void announce(void) {
    const char *fifo = getenv("WLT_STUB_FIFO");
    if (fifo != NULL) {
        int fd = open(fifo, O_WRONLY);
        if (fd >= 0) { (void)write(fd, "!", 1); close(fd); }
    }
}

/* The common SDK call: 1,024 bytes of WLT in, a 102x126 24-bit BMP out. */
int unpack(char *src, char *dst, int flag) {
    if (flag != 602) return 0;
    if (memcmp(src, "HANG", 4) == 0) { announce(); for (;;) pause(); }
    if (memcmp(src, "BOOM", 4) == 0) { announce(); raise(SIGSEGV); }
    if (memcmp(src, "FAIL", 4) == 0) return -3;
    memcpy(dst, HEADER, 54);
    for (int row = 0; row < 126; row++) {
        unsigned char *line = (unsigned char *)dst + 54 + row * 308;
        memcpy(line, PIXELS + (125 - row) * 306, 306);  /* bottom row first */
        line[306] = line[307] = 0;
    }
    return 1;
}

/* Builds that write the bare rows, top row first, in RGB order. */
int unpack_rgb(char *src, char *dst, int flag) {
    (void)src; (void)flag;
    for (int i = 0; i < %(size)d; i += 3) {
        dst[i] = PIXELS[i + 2]; dst[i + 1] = PIXELS[i + 1]; dst[i + 2] = PIXELS[i];
    }
    return 1;
}
"""


def bmp_header(width: int = 102, height: int = 126) -> bytes:
    stride = (width * 3 + 3) & ~3
    return (
        b"BM"
        + (54 + stride * height).to_bytes(4, "little")
        + bytes(4)
        + (54).to_bytes(4, "little")
        + (40).to_bytes(4, "little")
        + width.to_bytes(4, "little", signed=True)
        + height.to_bytes(4, "little", signed=True)
        + (1).to_bytes(2, "little")
        + (24).to_bytes(2, "little")
        + bytes(4)
        + (stride * height).to_bytes(4, "little")
        + bytes(16)
    )


def vendor_library(directory: Path, pixels: Image) -> Path:
    """A shared library with the vendor SDK's ``unpack`` that "decodes" every photo to
    ``pixels`` (102×126 BGR); photos starting HANG hang, BOOM crash, FAIL return -3."""
    assert pixels.shape == (126, 102, 3)
    source = directory / "wltstub.c"
    library = directory / "libwltstub.so"
    source.write_text(
        _STUB
        % {
            "size": pixels.size,
            "pixels": ",".join(str(int(v)) for v in pixels.reshape(-1)),
            "header": ",".join(str(b) for b in bmp_header()),
        },
        encoding="ascii",
    )
    subprocess.run(
        ["cc", "-O1", "-shared", "-fPIC", "-o", str(library), str(source)],
        check=True,
        capture_output=True,
    )
    return library
