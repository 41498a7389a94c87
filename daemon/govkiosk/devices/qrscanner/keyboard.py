"""Key events from a keyboard-wedge scanner → scanned codes. Pure: no device, no clock.

The scanner "types" each code and presses Enter. We follow the shift, AltGr and
CapsLock state ourselves, because the device is grabbed and the desktop never sees
it. A key we cannot translate spoils the scan: a code with a character missing is a
wrong code, so the whole scan is rejected rather than passed on half-right.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Protocol, Set, Union

from evdev import ecodes

from .keymaps import Layout

KEY_UP, KEY_DOWN, KEY_REPEAT = 0, 1, 2
ENTER_KEYS = frozenset((ecodes.KEY_ENTER, ecodes.KEY_KPENTER))
SHIFT_KEYS = frozenset((ecodes.KEY_LEFTSHIFT, ecodes.KEY_RIGHTSHIFT))
ALTGR_KEY = ecodes.KEY_RIGHTALT
#: Modifiers that turn a key into a shortcut rather than a character.
SHORTCUT_KEYS = frozenset(
    (ecodes.KEY_LEFTCTRL, ecodes.KEY_RIGHTCTRL, ecodes.KEY_LEFTALT, ecodes.KEY_LEFTMETA)
)


class KeyEvent(Protocol):
    """What :class:`evdev.InputEvent` offers (and what tests may build)."""

    type: int
    code: int
    value: int


@dataclass(frozen=True)
class Scanned:
    text: str

    def __repr__(self) -> str:
        return f"Scanned(<{len(self.text)} characters>)"


@dataclass(frozen=True)
class Rejected:
    """A scan that must not be used; ``reason`` never contains its characters."""

    reason: str


Outcome = Union[Scanned, Rejected]


class KeyDecoder:
    def __init__(self, layout: Layout, max_length: int = 4096) -> None:
        self.layout = layout
        self.max_length = max_length
        self.caps_lock = False
        self._held: Set[int] = set()
        self._chars: List[str] = []
        self._spoiled: Optional[str] = None

    @property
    def pending(self) -> bool:
        """True while a scan has started and not ended."""
        return bool(self._chars) or self._spoiled is not None

    def feed_event(self, event: KeyEvent) -> Optional[Outcome]:
        """Feed any input event; only key events matter."""
        return self.feed(event.code, event.value) if event.type == ecodes.EV_KEY else None

    def feed(self, code: int, value: int) -> Optional[Outcome]:
        if value == KEY_UP:
            self._held.discard(code)
            return None
        if value != KEY_DOWN:  # auto-repeat: scanners do not hold keys down
            return None
        self._held.add(code)
        if code in ENTER_KEYS:
            return self._finish()
        if code == ecodes.KEY_CAPSLOCK:
            self.caps_lock = not self.caps_lock
        elif code not in SHIFT_KEYS and code != ALTGR_KEY and code not in SHORTCUT_KEYS:
            self._type(code)
        return None

    def expire(self) -> Optional[Rejected]:
        """The scan stopped without Enter (the driver's timer): drop what was typed."""
        if not self.pending:
            return None
        self._reset()
        return Rejected("scan ended without Enter")

    def _type(self, code: int) -> None:
        char = self._char(code)
        if char is None:
            if self._spoiled is None:
                name = ecodes.KEY.get(code, code)
                self._spoiled = f"key {name} has no character in layout {self.layout.name}"
        elif len(self._chars) >= self.max_length:
            self._spoiled = f"longer than {self.max_length} characters"
        else:
            self._chars.append(char)

    def _char(self, code: int) -> Optional[str]:
        if self._held & SHORTCUT_KEYS:
            return None
        if ALTGR_KEY in self._held:
            return self.layout.altgr.get(code)
        keys = self.layout.keys.get(code)
        if keys is None:
            return None
        plain, shifted = keys
        shift = bool(self._held & SHIFT_KEYS)
        if self.caps_lock and plain.isascii() and plain.isalpha():
            shift = not shift
        return shifted if shift else plain

    def _finish(self) -> Optional[Outcome]:
        outcome: Optional[Outcome] = None
        if self._spoiled is not None:
            outcome = Rejected(self._spoiled)
        elif self._chars:
            outcome = Scanned("".join(self._chars))
        self._reset()
        return outcome

    def _reset(self) -> None:
        self._chars = []
        self._spoiled = None
