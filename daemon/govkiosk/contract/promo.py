"""The promotion screen's playlist (宣传辅助屏, §6.3 b): its format and its schedule.

Shared by the daemon, which checks a playlist before it is installed, and the promotion
program, which picks the entries to show at each moment; pure (no I/O, the time is
passed in). A playlist is a JSON object::

    {"format": 1, "version": "2026-12-w49",
     "entries": [{"name": "welcome", "file": "welcome.png", "duration": 10,
                  "days": ["mon", "tue", "wed", "thu", "fri"],
                  "times": ["08:30-12:00", "13:30-17:30"],
                  "from": "2026-12-01", "until": "2026-12-31"}]}

An entry is shown when every condition it has holds at that moment (local time): its
``days`` (``mon`` … ``sun``), one of its ``times`` windows (``HH:MM-HH:MM``; a window whose
end is before its start runs over midnight; ``24:00`` ends a day), its ``from`` and
``until`` dates (both inclusive). An image shows for ``duration`` seconds (default
:data:`DEFAULT_DURATION`); a video plays to its end, or for ``duration`` if shorter. The
entries active now play in their order, in a loop.

Every problem is a :class:`PlaylistError` naming the entry and the key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any, Dict, FrozenSet, List, Mapping, Optional, Tuple

FORMAT = 1
#: The playlist's file in a version directory, beside its media files.
PLAYLIST_FILE = "playlist.json"
MAX_ENTRIES = 64
MAX_WINDOWS = 8
DEFAULT_DURATION = 10.0
MIN_DURATION = 1.0
MAX_DURATION = 3600.0
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
#: A media file's suffix → what it is; the daemon checks its bytes agree.
KINDS = {"png": "image", "jpg": "image", "jpeg": "image", "mp4": "video"}

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
VERSION = NAME
FILE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,59}\.(png|jpg|jpeg|mp4)")
WINDOW = re.compile(r"([0-2][0-9]):([0-5][0-9])-([0-2][0-9]):([0-5][0-9])")
DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
ENTRY_KEYS = frozenset({"name", "file", "duration", "days", "times", "from", "until"})
PLAYLIST_KEYS = frozenset({"format", "version", "entries"})


class PlaylistError(ValueError):
    """A playlist that cannot be played; the message names the entry and the key."""


@dataclass(frozen=True)
class TimeWindow:
    start: time
    #: ``None``: the end of the day (``24:00``).
    end: Optional[time]

    def contains(self, moment: time) -> bool:
        if self.end is None:
            return moment >= self.start
        if self.start < self.end:
            return self.start <= moment < self.end
        return moment >= self.start or moment < self.end  # over midnight

    def __str__(self) -> str:
        end = "24:00" if self.end is None else self.end.strftime("%H:%M")
        return f"{self.start.strftime('%H:%M')}-{end}"


@dataclass(frozen=True)
class Entry:
    name: str
    file: str
    duration: Optional[float]
    days: FrozenSet[int] = frozenset(range(7))
    times: Tuple[TimeWindow, ...] = ()
    start: Optional[date] = None
    until: Optional[date] = None

    @property
    def kind(self) -> str:
        return KINDS[self.file.rpartition(".")[2]]

    @property
    def shown_for(self) -> Optional[float]:
        """Seconds on screen; ``None`` for a video that plays to its end."""
        if self.duration is None and self.kind == "image":
            return DEFAULT_DURATION
        return self.duration

    def active(self, at: datetime) -> bool:
        today = at.date()
        if self.start is not None and today < self.start:
            return False
        if self.until is not None and today > self.until:
            return False
        if at.weekday() not in self.days:
            return False
        return not self.times or any(w.contains(at.time()) for w in self.times)

    def to_json(self) -> Dict[str, Any]:
        out: Dict[str, Any] = {"name": self.name, "file": self.file}
        if self.duration is not None:
            out["duration"] = self.duration
        if self.days != frozenset(range(7)):
            out["days"] = [DAYS[d] for d in sorted(self.days)]
        if self.times:
            out["times"] = [str(w) for w in self.times]
        if self.start is not None:
            out["from"] = self.start.isoformat()
        if self.until is not None:
            out["until"] = self.until.isoformat()
        return out


@dataclass(frozen=True)
class Playlist:
    version: str
    entries: Tuple[Entry, ...]

    def active(self, at: datetime) -> Tuple[Entry, ...]:
        """The entries to play at ``at``, in order."""
        return tuple(e for e in self.entries if e.active(at))

    def files(self) -> FrozenSet[str]:
        return frozenset(e.file for e in self.entries)

    def to_json(self) -> Dict[str, Any]:
        return {
            "format": FORMAT,
            "version": self.version,
            "entries": [e.to_json() for e in self.entries],
        }


def parse_playlist(document: Any) -> Playlist:
    """A playlist from its JSON object; :class:`PlaylistError` names the first problem."""
    if not isinstance(document, Mapping):
        raise PlaylistError("the playlist: expected a JSON object")
    unknown = sorted(str(k) for k in document if k not in PLAYLIST_KEYS)
    if unknown:
        raise PlaylistError(f"unknown key(s) {', '.join(map(_shown, unknown))}")
    if document.get("format", FORMAT) != FORMAT:
        raise PlaylistError(f"format: expected {FORMAT}, got {_shown(document.get('format'))}")
    version = document.get("version")
    if not isinstance(version, str) or not VERSION.fullmatch(version):
        raise PlaylistError(
            f"version: expected 1 to 64 letters, digits, '.', '_' or '-', got {_shown(version)}"
        )
    raw_entries = document.get("entries")
    if not isinstance(raw_entries, list) or not 0 < len(raw_entries) <= MAX_ENTRIES:
        raise PlaylistError(f"entries: expected a list of 1 to {MAX_ENTRIES} entries")
    entries: List[Entry] = []
    names = set()
    for index, raw in enumerate(raw_entries):
        entry = parse_entry(raw, index)
        if entry.name in names:
            raise PlaylistError(f"entries[{index}] ({entry.name}): name: used twice")
        names.add(entry.name)
        entries.append(entry)
    return Playlist(version, tuple(entries))


def parse_entry(raw: Any, index: int) -> Entry:
    where = f"entries[{index}]"
    if not isinstance(raw, Mapping):
        raise PlaylistError(f"{where}: expected an object")
    name = raw.get("name")
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise PlaylistError(
            f"{where}: name: expected 1 to 64 letters, digits, '.', '_' or '-', got {_shown(name)}"
        )
    where = f"{where} ({name})"
    unknown = sorted(str(k) for k in raw if k not in ENTRY_KEYS)
    if unknown:
        raise PlaylistError(f"{where}: unknown key(s) {', '.join(map(_shown, unknown))}")
    file = raw.get("file")
    if not isinstance(file, str) or not FILE.fullmatch(file):
        raise PlaylistError(
            f"{where}: file: expected a plain file name ending .png, .jpg, .jpeg or .mp4, "
            f"got {_shown(file)}"
        )
    duration = raw.get("duration")
    if duration is not None:
        if isinstance(duration, bool) or not isinstance(duration, (int, float)):
            raise PlaylistError(f"{where}: duration: expected a number of seconds")
        if not MIN_DURATION <= duration <= MAX_DURATION:
            raise PlaylistError(
                f"{where}: duration: expected {MIN_DURATION:g} to {MAX_DURATION:g} seconds, "
                f"got {duration!r}"
            )
        duration = float(duration)
    start = _date(raw.get("from"), f"{where}: from")
    until = _date(raw.get("until"), f"{where}: until")
    if start is not None and until is not None and until < start:
        raise PlaylistError(f"{where}: until: {until} is before from ({start})")
    return Entry(
        name=name,
        file=file,
        duration=duration,
        days=_days(raw.get("days"), f"{where}: days"),
        times=_windows(raw.get("times"), f"{where}: times"),
        start=start,
        until=until,
    )


def _days(raw: Any, where: str) -> FrozenSet[int]:
    if raw is None:
        return frozenset(range(7))
    if not isinstance(raw, list) or not raw or len(raw) > len(DAYS):
        raise PlaylistError(f"{where}: expected a list of days among {', '.join(DAYS)}")
    days = set()
    for day in raw:
        if day not in DAYS:
            raise PlaylistError(
                f"{where}: expected days among {', '.join(DAYS)}, got {_shown(day)}"
            )
        days.add(DAYS.index(day))
    return frozenset(days)


def _windows(raw: Any, where: str) -> Tuple[TimeWindow, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list) or not 0 < len(raw) <= MAX_WINDOWS:
        raise PlaylistError(f'{where}: expected a list of 1 to {MAX_WINDOWS} "HH:MM-HH:MM" windows')
    return tuple(_window(value, f"{where}[{i}]") for i, value in enumerate(raw))


def _window(raw: Any, where: str) -> TimeWindow:
    match = WINDOW.fullmatch(raw) if isinstance(raw, str) else None
    if match is None:
        raise PlaylistError(f'{where}: expected "HH:MM-HH:MM", got {_shown(raw)}')
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if h1 > 23 or h2 > 24 or (h2 == 24 and m2 != 0):
        raise PlaylistError(f"{where}: no such time of day in {_shown(raw)}")
    start = time(h1, m1)
    end = None if h2 == 24 else time(h2, m2)
    if end == start:
        raise PlaylistError(f"{where}: the window {_shown(raw)} is empty")
    return TimeWindow(start, end)


def _date(raw: Any, where: str) -> Optional[date]:
    if raw is None:
        return None
    if not isinstance(raw, str) or not DATE.fullmatch(raw):
        raise PlaylistError(f'{where}: expected a date "YYYY-MM-DD", got {_shown(raw)}')
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise PlaylistError(f"{where}: no such date {_shown(raw)}") from None


def _shown(value: Any) -> str:
    """A value for a message: quoted, short, printable."""
    text = repr(value)
    text = "".join(c if c.isprintable() else "?" for c in text)
    return text if len(text) <= 60 else text[:57] + "..."
