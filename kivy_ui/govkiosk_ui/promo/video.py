"""A video decoded by OpenCV (FFmpeg) in a thread of its own, a few frames ahead.

The UI takes one frame per tick of its clock at the video's own rate; the decoder waits
while the queue is full, so a paused or slow screen costs no decoding. Frames are BGR
``numpy`` arrays, top row first.
"""

from __future__ import annotations

import logging
import queue
import threading
from pathlib import Path
from typing import Any, Optional, Tuple

import cv2

_LOGGER = logging.getLogger(__name__)

AHEAD = 4
#: What the queue holds after the last frame.
END = None
DEFAULT_FPS = 25.0
MAX_FPS = 60.0


class VideoReader:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.frames: queue.Queue[Optional[Any]] = queue.Queue(maxsize=AHEAD)
        self._stop = threading.Event()
        self._capture = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
        if not self._capture.isOpened():
            self._capture.release()
            raise OSError(f"{path.name}: cannot be opened as a video")
        fps = self._capture.get(cv2.CAP_PROP_FPS)
        self.fps = fps if 0 < fps <= MAX_FPS else DEFAULT_FPS
        self.size: Tuple[int, int] = (
            int(self._capture.get(cv2.CAP_PROP_FRAME_WIDTH)),
            int(self._capture.get(cv2.CAP_PROP_FRAME_HEIGHT)),
        )
        self._thread = threading.Thread(target=self._run, name=f"video {path.name}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.ident is None:  # never started: the capture is still ours
            self._capture.release()
            return
        while True:  # unblock a decoder waiting on a full queue
            try:
                self.frames.get_nowait()
            except queue.Empty:
                break
        if self._thread.is_alive():
            self._thread.join(timeout=2.0)

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                ok, frame = self._capture.read()
                if not ok:
                    break
                self._put(frame)
        finally:
            self._capture.release()
            self._put(END)

    def _put(self, item: Optional[Any]) -> None:
        while not self._stop.is_set():
            try:
                self.frames.put(item, timeout=0.2)
            except queue.Full:
                continue
            return
