"""The items subsystem's errors: each names what was wrong so a caller can fix it.

The D-Bus boundary names its errors after these classes
(``cn.govkiosk.Error.WrongRole``), and ``govkioskctl items`` picks its exit code by them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

from ..errors import GovkioskError


class LifecycleError(GovkioskError):
    """An item operation was refused; nothing changed."""


class WrongRoleError(LifecycleError):
    """The caller's role may not perform this transition (§8 a)."""


class InvalidTransitionError(LifecycleError):
    """The item's change request is not in a state that allows this transition."""


class UnknownItemError(LifecycleError):
    """No such item (or, for citizens, no such published item)."""


class InvalidRequestError(LifecycleError):
    """An application, evaluation or test record lacks a field or has a bad value."""


@dataclass(frozen=True)
class CatalogueProblem:
    """One thing wrong with a catalogue file: where (file, item, key) and what was expected."""

    file: str
    index: Optional[int]
    code: Optional[str]
    key: str
    message: str

    def __str__(self) -> str:
        where = [self.file]
        if self.index is not None:
            item = f"items[{self.index}]"
            where.append(f'{item} (code "{self.code}")' if self.code else item)
        if self.key:
            where.append(self.key)
        return ": ".join([*where, self.message])


class CatalogueFileError(LifecycleError):
    """A catalogue document cannot be used; ``problems`` lists every reason."""

    def __init__(self, problems: Sequence[CatalogueProblem]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))
