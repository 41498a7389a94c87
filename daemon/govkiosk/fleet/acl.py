"""The site's broker permissions, read from the one place they are written:
``packaging/mosquitto/acl``.

mosquitto reads that file itself. A NATS cluster (``natscluster.py``) cannot: it wants a
user per certificate with the subjects it may publish and subscribe to. Both come from
:func:`parse` here, so the cluster's permissions are the site ACL's, never a copy kept by
hand. Only what the site ACL uses is understood — ``pattern``, ``user``, ``topic`` with
``read``, ``write`` or ``readwrite`` and the ``%u`` substitution (the certificate's CN,
which is also the client id) — anything else is refused with its line number, so a rule
the cluster would silently miss cannot be added.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Dict, List, Tuple

from ..errors import GovkioskError

ACCESS = ("read", "write", "readwrite")
#: A name a NATS subject token can carry: no '.', no blanks, no wildcards.
IDENTITY = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")


class AclError(GovkioskError):
    """The ACL file holds something this reader does not understand."""


@dataclass(frozen=True)
class Rule:
    """One grant: ``access`` (read, write, readwrite) on an MQTT topic filter."""

    access: str
    topic: str

    @property
    def reads(self) -> bool:
        return self.access in ("read", "readwrite")

    @property
    def writes(self) -> bool:
        return self.access in ("write", "readwrite")


@dataclass(frozen=True)
class Acl:
    #: ``pattern`` rules: every identity, with ``%u`` its CN.
    patterns: Tuple[Rule, ...] = ()
    #: ``user`` stanzas: the extra topics of one named identity.
    users: Dict[str, Tuple[Rule, ...]] = field(default_factory=dict)

    def rules_for(self, identity: str) -> List[Rule]:
        """What ``identity`` (a certificate CN) may read and write, as mosquitto decides."""
        if not IDENTITY.fullmatch(identity):
            raise AclError(
                f"{identity!r}: not a broker identity (letters, digits, '-' or '_', at most 64)"
            )
        own = [Rule(r.access, r.topic.replace("%u", identity)) for r in self.patterns]
        return own + list(self.users.get(identity, ()))


def parse(text: str, source: str = "acl") -> Acl:
    patterns: List[Rule] = []
    users: Dict[str, List[Rule]] = {}
    current: List[Rule] = []  # topics before any ``user`` line apply to anonymous: refused
    named = False
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        words = line.split()
        where = f"{source}:{number}"
        keyword = words[0]
        if keyword == "user" and len(words) == 2:
            if not IDENTITY.fullmatch(words[1]):
                raise AclError(f"{where}: {words[1]!r} is not a broker identity")
            current = users.setdefault(words[1], [])
            named = True
        elif keyword in ("pattern", "topic"):
            rule = _rule(words[1:], where)
            if keyword == "pattern":
                patterns.append(rule)
            elif not named:
                raise AclError(f"{where}: a topic before any user line (anonymous access)")
            else:
                current.append(rule)
        else:
            raise AclError(f"{where}: not understood: {line[:80]!r}")
    return Acl(tuple(patterns), {name: tuple(rules) for name, rules in users.items()})


def _rule(words: List[str], where: str) -> Rule:
    if len(words) == 1:
        access, name = "readwrite", words[0]
    elif len(words) == 2 and words[0] in ACCESS:
        access, name = words
    else:
        raise AclError(f"{where}: expected [read|write|readwrite] TOPIC")
    levels = name.split("/")
    for index, level in enumerate(levels):
        if level == "#" and index != len(levels) - 1:
            raise AclError(f"{where}: '#' only as the last level")
        if level not in ("+", "#", "%u") and (not level or any(c in level for c in ".+#* \t>%")):
            raise AclError(f"{where}: level {level!r} cannot be a NATS subject token")
    return Rule(access, name)


def subject(topic_filter: str) -> str:
    """The NATS subject of an MQTT topic filter: ``/`` → ``.``, ``+`` → ``*``, ``#`` → ``>``."""
    return ".".join("*" if p == "+" else ">" if p == "#" else p for p in topic_filter.split("/"))
