"""The demo's playlist: the posters in ``data/`` and a short clip drawn here with OpenCV
(so the repository carries no video), written as a local playlist directory."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2
import numpy as np

from ..contract.promo import PLAYLIST_FILE

DATA = Path(__file__).parent / "data"
POSTERS = ("welcome", "selfservice", "crossprovince")
CLIP = "clip.mp4"
CLIP_SIZE = (540, 960)
CLIP_FPS = 25
CLIP_SECONDS = 4


def write_clip(path: Path, seconds: float = CLIP_SECONDS, fps: int = CLIP_FPS) -> None:
    """A clip of a bar sweeping over changing colours (MPEG-4 Part 2 in MP4)."""
    width, height = CLIP_SIZE
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), fps, (width, height))
    if not writer.isOpened():
        raise OSError(f"{path}: OpenCV cannot write MP4 here")
    try:
        frames = int(seconds * fps)
        for i in range(frames):
            hue = int(180 * i / frames)
            hsv = np.full((height, width, 3), (hue, 160, 200), np.uint8)
            frame = cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)
            y = int((height - 80) * i / max(frames - 1, 1))
            cv2.rectangle(frame, (40, y), (width - 40, y + 80), (255, 255, 255), -1)
            font = cv2.FONT_HERSHEY_SIMPLEX
            cv2.putText(frame, "govkiosk", (150, y + 55), font, 1.5, (0, 0, 0), 3)
            writer.write(frame)
    finally:
        writer.release()


def write_demo_playlist(directory: Path, seconds: float = 8.0) -> Path:
    """``directory`` with ``playlist.json``, the posters and the clip; returns it."""
    directory.mkdir(parents=True, exist_ok=True)
    entries = []
    for name in POSTERS:
        shutil.copyfile(DATA / f"{name}.png", directory / f"{name}.png")
        entries.append({"name": name, "file": f"{name}.png", "duration": seconds})
    write_clip(directory / CLIP)
    entries.insert(1, {"name": "clip", "file": CLIP})
    playlist = {"format": 1, "version": "demo-1", "entries": entries}
    (directory / PLAYLIST_FILE).write_text(json.dumps(playlist, indent=1), encoding="utf-8")
    return directory
