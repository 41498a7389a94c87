"""The web-app package's exception tree."""

from __future__ import annotations

from ..errors import GovkioskError


class WebappError(GovkioskError):
    """A web-app session, its bridge or its browser failed."""


class BrowserError(WebappError):
    """The kiosk browser could not be started, driven or closed."""


class DevToolsError(BrowserError):
    """The browser's DevTools pipe broke, refused a command or sent something unreadable."""
