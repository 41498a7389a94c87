"""§8 d: search files a run wrote for the simulated citizens' personal data and for images.

Every name, ID number and address is searched in every encoding a component might use
(UTF-8, GB18030 as the receipt printer speaks, UTF-16 as PDF strings hold them), and
every file for image data — JPEG, PNG, BMP, WebP, the simulated card photo's header,
NumPy arrays: faces, card photos and camera frames live in memory only.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Dict, Iterable, Iterator, List, Optional, Set

from govkiosk.devices.idcard import simphoto

#: Signatures of image data (long enough not to turn up by chance in a database page).
IMAGES = (
    re.compile(rb"\xff\xd8\xff[\xe0-\xef]..(JFIF|Exif)", re.DOTALL),
    re.compile(re.escape(b"\x89PNG\r\n\x1a\n")),
    re.compile(rb"BM....\x00\x00\x00\x00....[\x28\x6c\x7c]\x00\x00\x00", re.DOTALL),
    re.compile(rb"RIFF....WEBPVP8", re.DOTALL),
    re.compile(re.escape(simphoto.MAGIC)),
    re.compile(re.escape(b"\x93NUMPY")),
)


def needles(terms: Set[str]) -> List[bytes]:
    found: Set[bytes] = set()
    for term in terms:
        for encoding in ("utf-8", "gb18030", "utf-16-be", "utf-16-le"):
            found.add(term.encode(encoding))
    return sorted(found)


def every_file(root: Path) -> Iterator[Path]:
    """Files under ``root``; a directory that vanishes while walked (another process's
    temporary directory) is passed over, as ``os.walk`` does without ``onerror``."""
    for directory, _dirs, names in os.walk(root):
        for name in names:
            yield Path(directory) / name


def written_files(roots: List[Path], since: float, printed: Optional[Path]) -> Iterator[Path]:
    """Files under ``roots`` modified since ``since``, except the capture backend's
    ``job-N`` files in ``printed``: the printed paper itself, handed to the citizen."""
    for root in roots:
        for path in every_file(root):
            try:
                if not path.is_file() or path.stat().st_mtime < since:
                    continue
            except OSError:
                continue  # vanished while scanning (another process's temp file)
            if printed is not None and path.parent == printed and path.name.startswith("job-"):
                continue
            yield path


class Needles:
    """Many byte strings found in one pass over the data, not one pass each: the data's
    ``width``-byte pieces (``width``: the shortest needle) are matched against the
    needles' first bytes, and only the needles starting so are searched for. A soak's
    30,000 terms, four encodings each, in megabytes of log: seconds, not hours."""

    CHUNK = 1 << 20

    def __init__(self, patterns: List[bytes]) -> None:
        self.width = min((len(p) for p in patterns), default=1)
        self.by_start: Dict[bytes, List[bytes]] = {}
        for pattern in patterns:
            self.by_start.setdefault(pattern[: self.width], []).append(pattern)

    def found(self, data: bytes) -> List[bytes]:
        width, hits = self.width, set()
        for at in range(0, len(data), self.CHUNK):
            chunk = data[at : at + self.CHUNK + width - 1]
            pieces = {chunk[i : i + width] for i in range(len(chunk) - width + 1)}
            hits |= pieces & self.by_start.keys()
        return [p for start in hits for p in self.by_start[start] if p in data]


def scan(paths: Iterable[Path], terms: Set[str]) -> int:
    """Search every file in ``paths``; the number scanned. Raises AssertionError naming
    the first file that holds a term or an image."""
    scanned = 0
    patterns = Needles(needles(terms))
    for path in set(paths):
        try:
            data = path.read_bytes()
        except OSError:
            continue  # another process's file, gone or unreadable: not ours
        scanned += 1
        leaked = patterns.found(data)
        assert not leaked, f"{path} holds personal data"
        images = [i.pattern for i in IMAGES if i.search(data)]
        assert not images, f"{path} holds image data: {images}"
    return scanned
