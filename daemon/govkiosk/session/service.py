"""The ``session`` service, and the parts the session rebuilds when their section changes."""

from __future__ import annotations

from typing import Awaitable, Callable, Generic, Optional, Tuple, TypeVar

from ..backends.routing import Router
from ..backends.settings import BackendsSettings
from ..supervisor import Service
from .manager import SessionManager

K = TypeVar("K")
V = TypeVar("V")


class Rebuilt(Generic[K, V]):
    """``build(key())`` on first use, built again only when the key (a section) changes."""

    def __init__(self, key: Callable[[], K], build: Callable[[K], V]) -> None:
        self._key = key
        self._build = build
        self.built: Optional[Tuple[K, V]] = None

    def __call__(self) -> V:
        current = self._key()
        if self.built is None or self.built[0] != current:
            self.built = (current, self._build(current))
        return self.built[1]


class SessionService(Service):
    """Ends a running session (wiping it) and closes backend connections on stop."""

    name = "session"

    def __init__(
        self,
        manager: SessionManager,
        router: Rebuilt[BackendsSettings, Router],
        recover: Optional[Callable[[], Awaitable[object]]] = None,
        closing: Optional[Callable[[], Awaitable[None]]] = None,
    ) -> None:
        self._manager = manager
        self._router = router
        self._recover = recover
        self._closing = closing

    async def start(self) -> None:
        """Sessions start on request; first, a session a crash interrupted is settled
        (``interrupted.recover``)."""
        if self._recover is not None:
            await self._recover()

    async def stop(self) -> None:
        await self._manager.end_current()
        if self._closing is not None:
            await self._closing()
        if self._router.built is not None:
            await self._router.built[1].close()
