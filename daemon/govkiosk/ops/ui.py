"""What the daemon asks of the UI process, over D-Bus.

The Kivy UI runs as another user in the graphical session, so the daemon cannot take
its picture or restart it directly. The UI owns the name ``cn.govkiosk.UI1`` and
serves, at ``/cn/govkiosk/UI1``, the interface ``cn.govkiosk.UI1``:

- ``Screenshot() → ay``: a PNG of the current window, or the error
  :data:`CITIZEN_ON_SCREEN` while a citizen's session is shown (the masked holder, the
  document preview: §8 d) — the UI's own check, behind the activity gate's here;
- ``Restart() → ()``: reply, then exit with :data:`RESTART_STATUS`; the UI's unit
  (``Restart=always``) starts it again, as the demo does, which reloads its screens
  and theme.

The UI (``govkiosk_ui.remote``) serves it over the connection it follows the daemon on.
"""

from __future__ import annotations

UI_BUS_NAME = "cn.govkiosk.UI1"
UI_PATH = "/cn/govkiosk/UI1"
UI_INTERFACE = "cn.govkiosk.UI1"
CITIZEN_ON_SCREEN = "cn.govkiosk.UI1.Error.CitizenOnScreen"
#: EX_TEMPFAIL, as ``daemon.restart``: "start me again", not a fault.
RESTART_STATUS = 75
