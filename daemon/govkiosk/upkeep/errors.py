"""The upkeep family's exceptions."""

from __future__ import annotations

from ..errors import GovkioskError


class UpkeepError(GovkioskError):
    """An upkeep request cannot be served."""


class UnknownConsumableError(UpkeepError, ValueError):
    """No consumable of that name (``receipt`` or ``a4``)."""

    def __init__(self, name: str) -> None:
        super().__init__(f"no consumable named {name!r}: receipt or a4")


class SelfTestBusyError(UpkeepError):
    """A self-test is already running, or a citizen is being served."""
