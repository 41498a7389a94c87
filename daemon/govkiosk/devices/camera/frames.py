"""Frames and how they cross from a capture thread to the event loop.

A camera's capture worker reads frames as fast as the camera delivers them; readers on the loop
may be slower (a face detector at 10 fps). :class:`FrameQueue` sits between the two: it
holds at most ``depth`` frames and, when full, DROPS THE OLDEST, so memory stays bounded
and a slow reader always gets the newest frames, never a backlog. Frames are put on the
loop (the thread hands them over with ``loop.call_soon_threadsafe``, see
:meth:`FrameQueue.put_threadsafe`) and taken with ``await get()``.

Frames are images of people: they live in memory only and are never logged (§8 d).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
from typing import TYPE_CHECKING, Deque, Optional, Tuple

from ...timeouts import wait_for
from .errors import CameraError, FrameTimeout

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    Image = NDArray[np.uint8]


class Frame:
    """One image from one camera.

    A frame from a capture worker arrives as raw pixels with their shape
    (:meth:`from_pixels`); :attr:`image` views them as a NumPy array (NumPy is imported
    then, by the feature that looks at the picture, not by the camera driver). Zeroing
    the image zeroes the pixels: they are the same memory.
    """

    __slots__ = ("_image", "_pixels", "_shape", "at", "role", "seq")

    def __init__(self, image: Optional[Image], seq: int, at: float, role: str) -> None:
        self._image = image
        self._pixels: Optional[bytearray] = None
        self._shape: Tuple[int, ...] = tuple(image.shape) if image is not None else ()
        self.seq = seq  #: counts up from 1 for each capture run of a camera
        self.at = at  #: ``time.monotonic()`` when it was read
        self.role = role

    @classmethod
    def from_pixels(
        cls, pixels: bytearray, shape: Tuple[int, ...], seq: int, at: float, role: str
    ) -> Frame:
        """A frame of ``shape`` (h×w×3 BGR or h×w grey) over ``pixels``, not copied."""
        size = 1
        for side in shape:
            size *= side
        if len(shape) not in (2, 3) or size != len(pixels):
            raise CameraError(f"a frame of {len(pixels)} bytes is not {shape}")
        frame = cls(None, seq, at, role)
        frame._pixels, frame._shape = pixels, tuple(shape)
        return frame

    @property
    def image(self) -> Image:
        """BGR (h×w×3) or grey (h×w), uint8."""
        if self._image is None:
            import numpy as np  # noqa: PLC0415 - imported by whoever looks at the picture

            assert self._pixels is not None
            self._image = np.frombuffer(self._pixels, np.uint8).reshape(self._shape)
        return self._image

    @property
    def shape(self) -> Tuple[int, ...]:
        return self._shape

    @property
    def size(self) -> str:
        """``640x480``."""
        return f"{self._shape[1]}x{self._shape[0]}"

    def __repr__(self) -> str:
        return f"Frame({self.role}, #{self.seq}, {self.size})"


class FrameQueue:
    """A bounded queue from a capture thread to the loop that drops the oldest when full.

    Build it on the loop. A failure (:meth:`fail`) is latched: every ``get`` from then on
    raises it, waiting ones at once.
    """

    def __init__(self, depth: int = 2, *, loop: Optional[asyncio.AbstractEventLoop] = None) -> None:
        if depth < 1:
            raise ValueError("a frame queue holds at least one frame")
        self.depth = depth
        self.dropped = 0  #: frames dropped unread because the queue was full
        self.delivered = 0  #: frames put
        self.newest: Optional[Frame] = None  #: the last frame put, read or not
        self._loop = loop or asyncio.get_running_loop()
        self._frames: Deque[Frame] = collections.deque()
        self._ready = asyncio.Event()
        self._error: Optional[CameraError] = None

    def __len__(self) -> int:
        return len(self._frames)

    @property
    def failed(self) -> bool:
        return self._error is not None

    def put(self, frame: Frame) -> None:
        """On the loop: add ``frame``, dropping the oldest if the queue is full."""
        if self._error is not None:
            return
        if len(self._frames) >= self.depth:
            self._frames.popleft()
            self.dropped += 1
        self._frames.append(frame)
        self.delivered += 1
        self.newest = frame
        self._ready.set()

    def put_threadsafe(self, frame: Frame) -> None:
        """From any thread: :meth:`put` on the loop. Silently nothing once the loop is closed."""
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody reads any more
            self._loop.call_soon_threadsafe(self.put, frame)

    def fail(self, error: CameraError) -> None:
        """Latch ``error``: queued frames are discarded, every ``get`` raises it."""
        if self._error is None:
            self._error = error
            self._frames.clear()
            self._ready.set()

    async def get(self, timeout: Optional[float] = None) -> Frame:
        """The oldest queued frame; waits at most ``timeout`` seconds (``None``: no limit).

        Raises the latched failure, or :class:`FrameTimeout` when ``timeout`` passes.
        """
        deadline = None if timeout is None else self._loop.time() + timeout
        while True:
            if self._error is not None:
                raise self._error.with_traceback(None)
            if self._frames:
                return self._frames.popleft()
            self._ready.clear()
            remaining = None if deadline is None else max(0.0, deadline - self._loop.time())
            try:
                await wait_for(self._ready.wait(), remaining)
            except asyncio.TimeoutError:
                raise FrameTimeout(f"no frame within {timeout:g} s") from None


class FrameStream:
    """A reader's view of one camera, from :meth:`CameraHub.stream`.

    Several streams of one camera share its capture; each has its own queue, so one slow
    reader never holds back another.
    """

    def __init__(self, role: str, device_id: str, queue: FrameQueue) -> None:
        self.role = role
        self.device_id = device_id
        self.queue = queue

    async def next(self, timeout: Optional[float] = None) -> Frame:
        """The next frame (newer than any returned before).

        Raises :class:`CameraLost` as soon as the camera stalls or vanishes, and
        :class:`FrameTimeout` (a ``CameraLost``) when ``timeout`` passes without a frame.
        Without a timeout it still never hangs: the driver declares a silent camera
        stalled after ``stall_after`` seconds.
        """
        try:
            return await self.queue.get(timeout)
        except FrameTimeout:
            raise FrameTimeout(f"{self.role}: no frame within {timeout:g} s") from None

    def latest(self) -> Optional[Frame]:
        """The newest frame this stream has received (taken or not), or ``None``; never waits."""
        return self.queue.newest

    @property
    def lost(self) -> bool:
        return self.queue.failed

    @property
    def dropped(self) -> int:
        """Frames this reader never saw because it was slower than the camera."""
        return self.queue.dropped


def encode_jpeg(image: Image, quality: int = 90) -> bytes:
    """``image`` as JPEG bytes. CPU work: run it in an executor."""
    import cv2  # noqa: PLC0415 - the daemon loads OpenCV only to encode a snapshot
    import numpy as np  # noqa: PLC0415

    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise CameraError("the frame could not be encoded as JPEG")
    return np.asarray(data).tobytes()
