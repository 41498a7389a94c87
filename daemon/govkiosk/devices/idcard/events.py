"""What ID card readers tell the rest of the daemon.

Only :class:`IdentityRead` carries personal data; it is a
:class:`~govkiosk.bus.PersonalEvent`, delivered to the citizen session alone and
never logged, stored or sent on (§8 d). The others name the reader and nothing about
the card's holder, so ops and the D-Bus API may see them.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from ...bus import Event, PersonalEvent
from .cardtext import CardKind, Identity


class ReaderState(str, enum.Enum):
    STARTING = "starting"
    OK = "ok"
    SAM_FAULT = "sam_fault"  #: the security module failed its self-test or lacks authorisation
    NOT_RESPONDING = "not_responding"  #: the port is open, the reader does not answer
    LINK_LOST = "link_lost"  #: the port closed or cannot be opened


@dataclass(frozen=True)
class ReaderStateChanged(Event):
    device: str
    state: ReaderState
    detail: str


@dataclass(frozen=True)
class CardPresented(Event):
    device: str


@dataclass(frozen=True)
class CardRemoved(Event):
    device: str


@dataclass(frozen=True)
class CardReadFailed(Event):
    """A card on the reader could not be read; ``reason`` never holds card data."""

    device: str
    reason: str


@dataclass(frozen=True)
class IdentityRead(PersonalEvent):
    """The identity on the card just presented; session-only."""

    device: str
    identity: Identity

    @property
    def kind(self) -> CardKind:
        return self.identity.kind
