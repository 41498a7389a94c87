"""Who may do what to an item (§7.1.2 with §8 a): the one place roles are defined.

The roles follow the standard's actors: the business department (业务部门) applies for a
change and confirms the release, the managing office (管理部门) evaluates and approves,
developers build the item's flow, testers attach the verification record, and auditors
only read. Remote ops roles (viewer / operator / admin / auditor) map onto these.
"""

from __future__ import annotations

from enum import Enum
from typing import Dict

from .errors import WrongRoleError


class Role(str, Enum):
    DEPARTMENT = "department"
    OFFICE = "office"
    DEVELOPER = "developer"
    TESTER = "tester"
    AUDITOR = "auditor"


class Action(str, Enum):
    APPLY = "apply"  #: §7.1.2 a: name, reason, plan, function
    EVALUATE = "evaluate"  #: §7.1.2 b, f: necessity and feasibility; approves or rejects
    DEVELOP = "develop"  #: §7.1.2 c: the item's definition is attached
    VERIFY = "verify"  #: §7.1.2 d: the verification test record is attached
    PUBLISH = "publish"  #: §7.1.2 e: the department confirms and the item goes live
    SYNC = "sync"  #: §7.1.2 f: the published list is replaced by the authoritative one


#: The one role each action needs. Reading (list, show, history) needs none.
REQUIRED_ROLE: Dict[Action, Role] = {
    Action.APPLY: Role.DEPARTMENT,
    Action.EVALUATE: Role.OFFICE,
    Action.DEVELOP: Role.DEVELOPER,
    Action.VERIFY: Role.TESTER,
    Action.PUBLISH: Role.DEPARTMENT,
    Action.SYNC: Role.OFFICE,
}


def role_named(name: str) -> Role:
    """The role called ``name``; :class:`WrongRoleError` naming the known roles otherwise."""
    try:
        return Role(name)
    except ValueError:
        known = ", ".join(r.value for r in Role)
        raise WrongRoleError(f'unknown role "{name}" (roles: {known})') from None
