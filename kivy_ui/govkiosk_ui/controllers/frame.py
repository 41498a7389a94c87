"""What the controllers may ask of the app's frame (implemented by ``KioskApp``)."""

from __future__ import annotations

from typing import Any, List, Protocol, Tuple

from ..status import Indicator


class Frame(Protocol):
    @property
    def current(self) -> str:
        """The name of the screen shown now."""
        ...

    def screen(self, name: str) -> Any: ...

    def show_screen(self, name: str, where: str = "") -> None: ...

    def show_home(self) -> None:
        """Home, unless the kiosk is out of service."""
        ...

    def indicate(self, entry: str, indicator: Indicator) -> None:
        """One status-bar entry."""
        ...

    def status_entries(self) -> List[Tuple[str, Indicator]]:
        """Every status entry, the staff's ones included (the bar shows the citizen's)."""
        ...

    def set_banner(self, text: str) -> None: ...

    def in_session(self) -> bool:
        """Whether a citizen's session is running."""
        ...

    def end_session(self) -> None:
        """End the citizen's session, if one runs (the daemon wipes it)."""
        ...

    def daemon_available(self) -> bool: ...

    def rest(self) -> None:
        """The attract screen."""
        ...

    def wake(self) -> None:
        """Leave the attract screen for home."""
        ...
