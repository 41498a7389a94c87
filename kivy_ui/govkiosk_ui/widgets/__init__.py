"""Reusable pieces of the kiosk screens (their look is in ``kv/``)."""

from __future__ import annotations
