"""The D-Bus API's names: one place for both ends.

Interface names carry a version (``cn.govkiosk.Kiosk1``); an incompatible change gets a
new name, served next to the old one until the UI follows. The daemon serves every
``cn.govkiosk.*1`` interface at :data:`OBJECT_PATH` under :data:`BUS_NAME`; the UI serves
:data:`UI_INTERFACE` under its own name for ops (screenshot, restart).
"""

from __future__ import annotations

BUS_NAME = "cn.govkiosk.Kiosk1"
OBJECT_PATH = "/cn/govkiosk/Kiosk1"

KIOSK_INTERFACE = "cn.govkiosk.Kiosk1"
CAMERAS_INTERFACE = "cn.govkiosk.Cameras1"
#: The engineers' device checks of ``govkioskctl check``: A4 test page, a card read.
CHECKS_INTERFACE = "cn.govkiosk.Checks1"
DEVICES_INTERFACE = "cn.govkiosk.Devices1"
IDCARD_INTERFACE = "cn.govkiosk.IdCard1"
ITEMS_INTERFACE = "cn.govkiosk.Items1"
MAINTENANCE_INTERFACE = "cn.govkiosk.Maintenance1"
OPS_INTERFACE = "cn.govkiosk.Ops1"
POWER_INTERFACE = "cn.govkiosk.Power1"
PROMO_INTERFACE = "cn.govkiosk.Promo1"
PRESENCE_INTERFACE = "cn.govkiosk.Presence1"
QRSCANNER_INTERFACE = "cn.govkiosk.QrScanner1"
RECEIPT_INTERFACE = "cn.govkiosk.Receipt1"
SESSION_INTERFACE = "cn.govkiosk.Session1"
UPKEEP_INTERFACE = "cn.govkiosk.Upkeep1"
UPDATES_INTERFACE = "cn.govkiosk.Updates1"

#: The daemon's errors are ``cn.govkiosk.Error.<Name>``, named after their class
#: without its ``Error`` suffix; anything unexpected is :data:`INTERNAL_ERROR`.
ERROR_PREFIX = "cn.govkiosk.Error."
INTERNAL_ERROR = ERROR_PREFIX + "Internal"
#: ``Session1.Start`` while another citizen's session runs.
SESSION_ACTIVE_ERROR = ERROR_PREFIX + "SessionActive"
#: ``Session1.RunItemTest`` while a citizen's session (or another test) runs.
KIOSK_BUSY_ERROR = ERROR_PREFIX + "KioskBusy"
#: ``Session1.StartSession`` for an item this kiosk cannot run now (no camera, no face check).
ITEM_UNAVAILABLE_ERROR = ERROR_PREFIX + "ItemUnavailable"
#: ``Session1.Evaluate`` (好差评) refused: the session is not at its ``done`` step, has been
#: rated already, or the level or reasons are not allowed (``docs/session-api.md``).
NOT_DONE_ERROR = ERROR_PREFIX + "NotDone"
ALREADY_EVALUATED_ERROR = ERROR_PREFIX + "AlreadyEvaluated"
INVALID_EVALUATION_ERROR = ERROR_PREFIX + "InvalidEvaluation"
#: ``Cameras1.Snapshot`` while a citizen's session is in progress (§8 d).
CAMERA_BUSY_ERROR = ERROR_PREFIX + "CameraBusy"
#: ``Cameras1.Snapshot`` of a role with no camera up, or one lost while it was read.
CAMERA_UNAVAILABLE_ERROR = ERROR_PREFIX + "CameraUnavailable"
CAMERA_LOST_ERROR = ERROR_PREFIX + "CameraLost"

# The UI process's own interface, for ops: ``Screenshot() → ay`` (refused with
# CITIZEN_ON_SCREEN while a citizen's session is shown, §8 d) and ``Restart()`` (reply,
# then exit with RESTART_STATUS; the UI's unit starts it again).
UI_BUS_NAME = "cn.govkiosk.UI1"
UI_PATH = "/cn/govkiosk/UI1"
UI_INTERFACE = "cn.govkiosk.UI1"
CITIZEN_ON_SCREEN = "cn.govkiosk.UI1.Error.CitizenOnScreen"
#: EX_TEMPFAIL, as ``daemon.restart``: "start me again", not a fault.
RESTART_STATUS = 75

# Shared values of the citizen's screens (docs/session-api.md).
#: ``Session1`` item rows' ``icon``: the icons the UI draws.
ITEM_ICONS = (
    "police",
    "social_security",
    "pension",
    "medical",
    "household",
    "tax",
    "housing",
    "generic",
)
#: The final session state's ``ended_by``.
ENDED_BY = ("done", "failed", "cancelled", "timeout", "walked_away", "home", "stopped")
#: ``Kiosk1.GetInfo``'s ``card_reader``: where the ID card reader is on this kiosk model.
CARD_READER_POSITIONS = ("below_screen", "right", "left", "centre", "right_panel", "left_panel")
