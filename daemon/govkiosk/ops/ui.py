"""What the daemon asks of the UI process, over D-Bus.

The Kivy UI runs as another user in the graphical session, so the daemon cannot take
its picture or restart it directly. The UI owns the name ``cn.govkiosk.UI1`` and
serves, at ``/cn/govkiosk/UI1``, the interface ``cn.govkiosk.UI1``:

- ``Screenshot() → ay``: a PNG of the current window (``Window.screenshot`` /
  ``export_to_png`` into memory);
- ``Restart() → ()``: reply, then quit; the UI's unit (``Restart=always``) starts it
  again, which reloads its screens and theme.
"""

from __future__ import annotations

UI_BUS_NAME = "cn.govkiosk.UI1"
UI_PATH = "/cn/govkiosk/UI1"
UI_INTERFACE = "cn.govkiosk.UI1"
