"""The in-process event bus: typed, frozen events from their one owner to every subscriber.

Handlers are plain callables run synchronously by :meth:`EventBus.publish`; a handler
that raises is logged and the others still run. A subscriber that wants to await
events uses :meth:`EventBus.stream`, a bounded queue that drops its oldest event (and
says so) rather than letting a slow reader grow memory without end.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from enum import Enum
from typing import (
    Any,
    Callable,
    DefaultDict,
    Generic,
    List,
    Mapping,
    Tuple,
    Type,
    TypeVar,
    cast,
)

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class Event:
    """Base of every event. Events are values: frozen and compared by content."""


@dataclass(frozen=True)
class PersonalEvent(Event):
    """An event that carries personal data (§8 d).

    It is delivered only to handlers subscribed with ``personal=True`` (the citizen
    session); ops, telemetry and storage never see it.
    """


E = TypeVar("E", bound=Event)
Handler = Callable[[E], None]


@dataclass(frozen=True)
class ServiceHealthChanged(Event):
    service: str
    state: str
    detail: str
    restarts: int


@dataclass(frozen=True)
class ConfigReloaded(Event):
    """A new configuration was validated and is now in force."""

    files: Tuple[str, ...]


@dataclass(frozen=True)
class AdminAction(Event):
    """An administrative action for the ops log (§8 e): a maintenance login, an item's
    lifecycle step, a USB maintenance window. Codes and roles only, never personal data."""

    kind: str
    code: str
    detail: Mapping[str, Any] = field(default_factory=dict)


class Severity(str, Enum):
    INFO = "info"  #: a condition ended, or something ops may want to know
    WARNING = "warning"  #: needs attention; the kiosk still serves
    CRITICAL = "critical"  #: the kiosk cannot serve, or is about to stop


@dataclass(frozen=True)
class Alarm(Event):
    """Something ops must hear about (§5.2 运维监控系统), from any component.

    ``code`` is stable and machine-readable (``on_battery``); ``message`` is for people.
    Never personal data: alarms leave the kiosk.
    """

    source: str
    code: str
    severity: Severity
    message: str
    #: What the alarm is about where a source has several (a printer's queue, a device id):
    #: repeats of one alarm, queued while ops is away, are counted in the first by source,
    #: code and subject (the message when there is no subject).
    subject: str = ""


class EventStream(Generic[E]):
    """A bounded queue of events of the given types; ``await stream.get()`` the next."""

    def __init__(self, bus: EventBus, types: Tuple[Type[E], ...], maxsize: int) -> None:
        self._queue: asyncio.Queue[E] = asyncio.Queue(maxsize)
        self._unsubscribers = [bus.subscribe(t, self._put) for t in types]
        self.dropped = 0

    def _put(self, event: E) -> None:
        if self._queue.full():
            self._queue.get_nowait()
            self.dropped += 1
            _LOGGER.warning("event stream full: dropped the oldest event")
        self._queue.put_nowait(event)

    async def get(self) -> E:
        return await self._queue.get()

    def drain(self) -> List[E]:
        """The events waiting now, oldest first, without waiting for more."""
        waiting: List[E] = []
        while not self._queue.empty():
            waiting.append(self._queue.get_nowait())
        return waiting

    def close(self) -> None:
        for unsubscribe in self._unsubscribers:
            unsubscribe()
        self._unsubscribers.clear()

    def __enter__(self) -> EventStream[E]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class EventBus:
    def __init__(self) -> None:
        self._handlers: DefaultDict[type, List[Tuple[Callable[[Event], None], bool]]] = defaultdict(
            list
        )

    def subscribe(
        self, event_type: Type[E], handler: Handler[E], *, personal: bool = False
    ) -> Callable[[], None]:
        """Call ``handler`` for every event of ``event_type`` (or a subclass).

        Returns a function that ends the subscription.
        """
        entry = (cast(Callable[[Event], None], handler), personal)
        self._handlers[event_type].append(entry)

        def unsubscribe() -> None:
            if entry in self._handlers[event_type]:
                self._handlers[event_type].remove(entry)

        return unsubscribe

    def stream(self, *types: Type[E], maxsize: int = 256) -> EventStream[E]:
        return EventStream(self, types, maxsize)

    def publish(self, event: Event) -> None:
        is_personal = isinstance(event, PersonalEvent)
        for cls in type(event).__mro__:
            for handler, personal_ok in list(self._handlers.get(cls, ())):
                if is_personal and not personal_ok:
                    continue
                try:
                    handler(event)
                except Exception:
                    _LOGGER.exception("event handler failed for %s", type(event).__name__)
