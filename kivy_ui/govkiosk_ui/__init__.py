"""The kiosk's touch UI (Kivy).

It holds no business logic and no device code: it renders what the daemon's D-Bus API
(``cn.govkiosk.Kiosk1``) says and sends what the citizen chose. It keeps running while
the daemon is away and shows that the service is unavailable until it returns.
"""

from __future__ import annotations
