"""The daemon's signals, routed by a table: ``(interface, member)`` → handler.

The client hands over every signal on the kiosk's object as ``(interface, member,
body)``; the table sends it to the one controller that follows that interface. A
``PropertiesChanged`` is filed under the interface whose properties changed, as
``(interface, "PropertiesChanged")`` with ``[changed, invalidated]`` for its body, so
a controller asks for it like any other signal. Signals nobody asked for are dropped.
"""

from __future__ import annotations

import logging
from typing import Any, Callable, Dict, List, Mapping, Tuple

from .client import PROPERTIES_INTERFACE

_LOGGER = logging.getLogger(__name__)

PROPERTIES_CHANGED = "PropertiesChanged"

Route = Tuple[str, str]
Handler = Callable[[List[Any]], None]
Routes = Dict[Route, Handler]


def changed_properties(body: List[Any]) -> Dict[str, Any]:
    """The new values a routed ``PropertiesChanged`` carries."""
    return dict(body[0]) if body else {}


class SignalTable:
    def __init__(self, *tables: Mapping[Route, Handler]) -> None:
        self._routes: Routes = {}
        for table in tables:
            for route, handler in table.items():
                if route in self._routes:
                    raise ValueError(f"two handlers for {route[0]}.{route[1]}")
                self._routes[route] = handler

    def __contains__(self, route: object) -> bool:
        return route in self._routes

    def dispatch(self, interface: str, member: str, body: List[Any]) -> None:
        if interface == PROPERTIES_INTERFACE and member == PROPERTIES_CHANGED and body:
            interface, body = str(body[0]), body[1:]
        handler = self._routes.get((interface, member))
        if handler is None:
            _LOGGER.debug("signal %s.%s: not followed", interface, member)
            return
        handler(body)
