"""Out of service: the power is failing (UPS stage) or the daemon refuses new sessions.

Bilingual like "service unavailable", and it leaves by itself when the daemon's stage
returns to normal.
"""

from __future__ import annotations

from kivy.properties import StringProperty
from kivy.uix.screenmanager import Screen

from ..i18n import N_


class OutOfServiceScreen(Screen):
    #: The English message id of why (translated by the kv rule).
    reason = StringProperty(N_("The kiosk is out of service"))
