"""The OFD container: a zip read whole into memory, within bounds.

A document from a department is untrusted input. Before anything is parsed the container
is checked: how many entries, how large each one and all of them are once inflated (the
sizes the zip claims are not believed: entries are inflated with a cap), how much each
one inflates, that no name climbs out of the package (``..``, absolute, backslash, drive
letters, NUL) and that no two entries share a name, even differing only in case (the
reader resolves names case-insensitively as a last resort: some writers store
``DOC_0/Res`` and refer to ``Doc_0/Res``). Nothing is written to disk (§8 d).
"""

from __future__ import annotations

import io
import posixpath
import zipfile
import zlib
from dataclasses import dataclass
from typing import Dict, Iterator, List, Mapping, Optional

from .errors import OfdPackageError

MiB = 1024 * 1024
CHUNK = 256 * 1024


@dataclass(frozen=True)
class Limits:
    """Bounds on a package; the defaults fit any certificate with room to spare."""

    max_entries: int = 2000
    max_entry_size: int = 64 * MiB
    max_total_size: int = 256 * MiB
    #: inflated size / stored size, for entries larger than ``ratio_floor``
    max_ratio: int = 200
    ratio_floor: int = 64 * 1024


def _check_name(name: str) -> str:
    if not name or "\\" in name or "\x00" in name or name.startswith("/"):
        raise OfdPackageError(f"package: entry name not allowed: {name!r}")
    if len(name) > 1024:
        raise OfdPackageError("package: entry name longer than 1024 characters")
    if len(name) > 1 and name[1] == ":":
        raise OfdPackageError(f"package: entry name not allowed: {name!r}")
    parts = name.rstrip("/").split("/")
    if any(part in ("", ".", "..") for part in parts):
        raise OfdPackageError(f"package: entry name not allowed: {name!r}")
    return name


def _inflate(archive: zipfile.ZipFile, info: zipfile.ZipInfo, cap: int, limits: Limits) -> bytes:
    """The entry inflated a chunk at a time, stopped as soon as it breaks a bound."""
    ratio_cap = max(limits.ratio_floor, limits.max_ratio * max(info.compress_size, 1))
    chunks: List[bytes] = []
    size = 0
    try:
        with archive.open(info) as stream:
            while True:
                chunk = stream.read(CHUNK)
                if not chunk:
                    break
                size += len(chunk)
                if size > cap:
                    raise OfdPackageError(
                        f"package: entry {info.filename!r} inflates beyond the limit"
                        f" ({limits.max_entry_size} bytes per entry,"
                        f" {limits.max_total_size} in all)"
                    )
                if size > ratio_cap:
                    raise OfdPackageError(
                        f"package: entry {info.filename!r} inflates more than"
                        f" {limits.max_ratio} times"
                    )
                chunks.append(chunk)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError) as err:
        raise OfdPackageError(f"package: entry {info.filename!r} cannot be read: {err}") from None
    except RuntimeError as err:  # encrypted
        raise OfdPackageError(f"package: entry {info.filename!r} cannot be read: {err}") from None
    return b"".join(chunks)


class OfdPackage(Mapping[str, bytes]):
    """The package's files by name (``Doc_0/Document.xml``, no leading slash)."""

    def __init__(self, files: Dict[str, bytes]) -> None:
        self._files = files
        self._folded = {name.lower(): name for name in files}

    @classmethod
    def from_bytes(cls, data: bytes, limits: Optional[Limits] = None) -> OfdPackage:
        limits = limits or Limits()
        try:
            archive = zipfile.ZipFile(io.BytesIO(data))
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError) as err:
            raise OfdPackageError(f"package: not a zip file: {err}") from None
        with archive:
            infos = archive.infolist()
            if len(infos) > limits.max_entries:
                raise OfdPackageError(f"package: more than {limits.max_entries} entries")
            files: Dict[str, bytes] = {}
            folded: Dict[str, str] = {}
            total = 0
            for info in infos:
                name = _check_name(info.filename)
                if name.lower() in folded or name.rstrip("/").lower() in folded:
                    raise OfdPackageError(f"package: entry {name!r} appears twice")
                folded[name.rstrip("/").lower()] = name
                if info.is_dir():
                    continue
                if info.flag_bits & 0x1:
                    raise OfdPackageError(f"package: entry {name!r} is encrypted")
                cap = min(limits.max_entry_size, limits.max_total_size - total)
                content = _inflate(archive, info, cap, limits)
                total += len(content)
                files[name] = content
        return cls(files)

    def __getitem__(self, name: str) -> bytes:
        return self._files[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._files)

    def __len__(self) -> int:
        return len(self._files)

    def find(self, name: str) -> Optional[str]:
        """The stored name for ``name``: exact, else the one entry equal but for case."""
        if name in self._files:
            return name
        return self._folded.get(name.lower())

    def read(self, name: str) -> bytes:
        stored = self.find(name)
        if stored is None:
            raise OfdPackageError(f"package: {name} is missing")
        return self._files[stored]


def resolve(base: str, ref: str) -> str:
    """The package path ``ref`` names, read in the file ``base`` (or folder ``base/``).

    OFD locations are absolute from the package root when they start with ``/``, else
    relative to the folder of the file that holds them. ``..`` may not leave the package.
    """
    ref = ref.strip().replace("\\", "/")
    if not ref or "\x00" in ref:
        raise OfdPackageError(f"package: empty or invalid location in {base}")
    if ref.startswith("/"):
        joined = ref.lstrip("/")
    else:
        folder = base if base.endswith("/") else posixpath.dirname(base)
        joined = posixpath.join(folder, ref)
    parts: List[str] = []
    for part in joined.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if not parts:
                raise OfdPackageError(f"package: location {ref!r} leaves the package")
            parts.pop()
            continue
        parts.append(part)
    if not parts:
        raise OfdPackageError(f"package: location {ref!r} names no file")
    return "/".join(parts)
