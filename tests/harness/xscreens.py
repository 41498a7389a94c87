"""An X server with two screens (the touch panel and the promotion screen), and pictures of
a screen taken from outside the program on it (``xwd``), as BGR arrays."""

from __future__ import annotations

import os
import struct
import subprocess
from pathlib import Path
from typing import Tuple

import numpy as np

from .process import wait_until

#: The touch panel and a portrait promotion screen (1080×1920).
SCREENS = ("1280x800x24", "1080x1920x24")
READY_TIMEOUT = 10.0


class TwoScreens:
    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        read, write = os.pipe()
        argv = ["Xvfb", "-displayfd", str(write), "-nolisten", "tcp"]
        for index, geometry in enumerate(SCREENS):
            argv += ["-screen", str(index), geometry]
        self.log = directory / "xvfb.log"
        with self.log.open("wb") as out:
            self.popen = subprocess.Popen(argv, stdout=out, stderr=out, pass_fds=(write,))
        os.close(write)
        with os.fdopen(read) as pipe:
            number = pipe.readline().strip()
        if not number:
            raise RuntimeError(f"Xvfb did not start: {self.log.read_text(errors='replace')}")
        self.display = f":{number}"
        wait_until(lambda: self._answers(0), READY_TIMEOUT, "Xvfb")

    def screen(self, index: int) -> str:
        return f"{self.display}.{index}"

    def _answers(self, index: int) -> bool:
        return (
            subprocess.run(
                ["xdpyinfo", "-display", self.screen(index)], capture_output=True, check=False
            ).returncode
            == 0
        )

    def picture(self, index: int) -> np.ndarray:  # type: ignore[type-arg]
        """The screen's pixels now (BGR, top row first)."""
        data = subprocess.run(
            ["xwd", "-root", "-silent", "-display", self.screen(index)],
            capture_output=True,
            check=True,
            timeout=20,
        ).stdout
        return parse_xwd(data)

    def stop(self) -> None:
        self.popen.terminate()
        try:
            self.popen.wait(5)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait()


def parse_xwd(data: bytes) -> np.ndarray:  # type: ignore[type-arg]
    """A 24/32-bit TrueColor XWD dump as a BGR array."""
    fields = struct.unpack(">25I", data[:100])
    header_size, version = fields[0], fields[1]
    width, height = fields[4], fields[5]
    byte_order, bits_per_pixel, bytes_per_line = fields[7], fields[11], fields[12]
    ncolors = fields[19]
    if version != 7 or bits_per_pixel not in (24, 32):
        raise ValueError(f"xwd: version {version}, {bits_per_pixel} bpp: not handled")
    size = bits_per_pixel // 8
    start = header_size + ncolors * 12
    rows = np.frombuffer(data, np.uint8, count=bytes_per_line * height, offset=start)
    pixels = rows.reshape(height, bytes_per_line)[:, : width * size].reshape(height, width, size)
    if byte_order == 1:  # MSBFirst: (X) R G B
        return np.ascontiguousarray(pixels[:, :, [size - 1, size - 2, size - 3]])
    return np.ascontiguousarray(pixels[:, :, :3])  # LSBFirst: B G R (X)


def mean_colour(picture: np.ndarray, box: Tuple[int, int, int, int]) -> Tuple[int, int, int]:  # type: ignore[type-arg]
    x, y, w, h = box
    b, g, r = picture[y : y + h, x : x + w].reshape(-1, 3).mean(axis=0)
    return int(b), int(g), int(r)
