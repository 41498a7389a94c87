"""Documents (TOML tables, JSON objects, D-Bus dictionaries) into frozen dataclasses.

The configuration's builder does the work, so an item, an application or a test record
is checked field by field exactly like a configuration section: unknown keys, missing
keys, wrong types and failed checks are all reported with their key and expectation.
"""

from __future__ import annotations

from typing import Any, List, Mapping, Optional, Tuple, Type, TypeVar

from ..fields import required
from ..tables import Builder, Problem
from .errors import InvalidRequestError

T = TypeVar("T")


def build(
    cls: Type[T], document: Mapping[str, Any], file: str
) -> Tuple[Optional[T], List[Problem]]:
    """``cls`` from ``document``, or ``None`` and every problem found."""
    builder = Builder({}, file)
    value = builder.build(cls, document, ())
    return (None if builder.problems else value), builder.problems


def build_request(cls: Type[T], document: Mapping[str, Any], what: str) -> T:
    """``cls`` from a caller's ``document``; :class:`InvalidRequestError` naming each problem."""
    value, problems = build(cls, document, what)
    if value is None:
        raise InvalidRequestError("\n".join(str(p) for p in problems))
    return value


def choice(expect: str) -> Any:
    """A required field whose type (a ``Literal``, ``bool``) is its whole check."""
    return required(expect=expect, check=lambda _value: True)
