"""Who may call what (§8 a: roles, permissions, access control).

Four roles, separated by duty rather than stacked by rank: an *auditor* reads the ops
log and nothing else changes for them; a *viewer* watches; an *operator* does the
day's maintenance; an *admin* changes what the kiosk is (configuration, catalogue,
restarts of the daemon).
"""

from __future__ import annotations

from typing import FrozenSet

VIEWER = "viewer"
OPERATOR = "operator"
ADMIN = "admin"
AUDITOR = "auditor"
ROLES = (VIEWER, OPERATOR, ADMIN, AUDITOR)

READ: FrozenSet[str] = frozenset({VIEWER, OPERATOR, ADMIN, AUDITOR})
WATCH: FrozenSet[str] = frozenset({VIEWER, OPERATOR, ADMIN})
MAINTAIN: FrozenSet[str] = frozenset({OPERATOR, ADMIN})
AUDIT: FrozenSet[str] = frozenset({AUDITOR, ADMIN})
CHANGE: FrozenSet[str] = frozenset({ADMIN})
