"""Errors the UI raises on purpose; their messages are fit to show an integrator."""

from __future__ import annotations


class UiError(Exception):
    """The root of the UI's own errors."""


class FontNotFoundError(UiError):
    """No font with Chinese glyphs is installed: every label would render as boxes."""
