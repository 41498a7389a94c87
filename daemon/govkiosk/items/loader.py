"""The ``items`` service: the registry's ledger read as the daemon starts."""

from __future__ import annotations

import logging

from ..supervisor import Service
from .registry import ItemRegistry

_LOGGER = logging.getLogger(__name__)


class LedgerLoader(Service):
    """Reads the ledger as the daemon starts (a new kiosk publishes its default catalogue).

    The registry would read it on first use anyway; doing it here puts a damaged state
    database in the ``items`` service's health at boot, not in a citizen's first tap.
    """

    name = "items"

    def __init__(self, registry: ItemRegistry) -> None:
        self._registry = registry

    async def start(self) -> None:
        published = await self._registry.published()
        _LOGGER.info(
            "items: %d published: %s", len(published), ", ".join(i.code for i in published)
        )
