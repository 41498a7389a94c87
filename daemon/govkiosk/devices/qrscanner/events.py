"""What the scanner driver tells the daemon."""

from __future__ import annotations

from dataclasses import dataclass

from ...bus import Event, PersonalEvent


@dataclass(frozen=True)
class CodeScanned(PersonalEvent):
    """A complete code. Personal: health codes and e-licences identify the citizen (§8 d)."""

    device: str
    text: str

    def __repr__(self) -> str:  # keeps the code out of tracebacks and debug output
        return f"CodeScanned(device={self.device!r}, text=<{len(self.text)} characters>)"


@dataclass(frozen=True)
class ScanFailed(Event):
    """A scan that could not be read; ``reason`` never contains the scanned data."""

    device: str
    reason: str
