"""Operator access for the maintenance screen (§8 a, b): a PIN checked here, never in the UI.

The UI's maintenance screen shows device health, the printer test, the UPS state and
recent alarms; it may do so only after an operator has logged in with the PIN whose
hash is configured in ``[maintenance] pin_hash``.
"""

from __future__ import annotations
