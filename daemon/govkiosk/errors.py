"""The root of every error govkiosk raises on purpose.

Each subsystem derives its own tree from :class:`GovkioskError`, so a caller at a
boundary (D-Bus, MQTT, the command line) can tell our errors, which carry a message
fit to show, from bugs, which it logs and turns into a generic reply.
"""

from __future__ import annotations


class GovkioskError(Exception):
    """An expected failure with a message that may be shown to the caller."""
