"""Choosing the department platform for an item and a region (§5.2 跨省通办系统).

The route table (``[backends]``, see :mod:`.settings`) maps (item code, region prefix)
to a platform. The most specific route wins: a route naming the item beats ``"*"``, and
between those a longer region prefix beats a shorter one (``"2301"`` over ``"23"`` over
``""``). No match falls back to ``default_url``.

The ``region`` passed in is the region whose platform must answer: the flow engine
decides it from the item's region list and the applicant (for a cross-province item,
the applicant's home region rather than the kiosk's ``kiosk.region``). A route in
another province than the kiosk's is a cross-province route; :meth:`Router.route_for`
says so, for the ops log and the receipt.

One :class:`~.http.HttpBackend` is kept per route, so its connection pool is reused.

A resolved route also carries what ``govkioskctl check`` tests the platform with: its
published test identity (``test_applicant``, or ``None``) and its ``health_url``. They are
the matched route's own, or the section's for ``default_url``; never inherited by a route
from the section, since another platform would refuse that identity.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Optional

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from .base import Applicant, Backend, BackendError
from .http import HttpBackend
from .settings import BackendsSettings, Route
from .signing import RequestSigner, SigningError, load_private_key

_LOGGER = logging.getLogger(__name__)


class NoRouteError(BackendError):
    """No route and no default platform serves the item in that region."""

    code = "backend.no_route"


class BackendKeyError(BackendError):
    """The kiosk's signing key (``backends.key_file``) cannot be used."""

    code = "backend.key"


@dataclass(frozen=True)
class ResolvedRoute:
    """A route with the section's defaults filled in."""

    url: str
    key_id: str
    connect_timeout: float
    timeout: float
    cross_province: bool
    #: The platform's published test identity (synthetic); ``None`` when it has none.
    test_applicant: Optional[Applicant] = None
    #: The platform's health call; "" when it has none.
    health_url: str = ""


class Router:
    """``backend_for(item_code, region)`` → the :class:`Backend` that answers."""

    def __init__(
        self,
        settings: BackendsSettings,
        *,
        kiosk_id: str,
        kiosk_region: str,
        key: Optional[Ed25519PrivateKey] = None,
    ) -> None:
        self._settings = settings
        self._kiosk_region = kiosk_region
        self._default_key_id = settings.key_id or kiosk_id
        self._private_key = key
        self._backends: Dict[ResolvedRoute, Backend] = {}

    def route_for(self, item_code: str, region: str) -> ResolvedRoute:
        settings = self._settings
        matching = [
            r for r in settings.routes if r.item in ("*", item_code) and region.startswith(r.region)
        ]
        if matching:
            route = max(matching, key=lambda r: (r.item != "*", len(r.region)))
        elif settings.default_url:
            route = Route(
                url=settings.default_url,
                test_id_number=settings.test_id_number,
                test_name=settings.test_name,
                health_url=settings.health_url,
            )
        else:
            raise NoRouteError(f"no backend route for item {item_code} in region {region}")
        return ResolvedRoute(
            url=route.url,
            key_id=route.key_id or self._default_key_id,
            connect_timeout=route.connect_timeout or settings.connect_timeout,
            timeout=route.timeout or settings.timeout,
            # the first two digits of a division code are the province
            cross_province=bool(route.region) and route.region[:2] != self._kiosk_region[:2],
            test_applicant=(
                Applicant(route.test_id_number, route.test_name)
                if route.test_id_number and route.test_name
                else None
            ),
            health_url=route.health_url,
        )

    def backend_for(self, item_code: str, region: str) -> Backend:
        route = self.route_for(item_code, region)
        backend = self._backends.get(route)
        if backend is None:
            if route.cross_province:
                _LOGGER.info("backends: item %s for region %s via %s", item_code, region, route.url)
            backend = HttpBackend(
                route.url,
                RequestSigner(self._key(), route.key_id),
                connect_timeout=route.connect_timeout,
                timeout=route.timeout,
                retries=self._settings.retries,
                retry_backoff=self._settings.retry_backoff,
            )
            self._backends[route] = backend
        return backend

    def _key(self) -> Ed25519PrivateKey:
        """The kiosk's signing key, read on first use so a missing key fails one item, not
        the daemon."""
        if self._private_key is None:
            try:
                self._private_key = load_private_key(Path(self._settings.key_file))
            except SigningError as err:
                raise BackendKeyError(str(err)) from err
        return self._private_key

    async def close(self) -> None:
        for backend in self._backends.values():
            await backend.close()
        self._backends.clear()
