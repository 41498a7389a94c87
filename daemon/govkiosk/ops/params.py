"""Reading a command's parameters, with the reason when one does not fit."""

from __future__ import annotations

from typing import Any

from ..errors import GovkioskError
from .envelope import Command


class MethodError(GovkioskError):
    """A method could not do what it was asked."""


def param(command: Command, name: str, kind: type, default: Any = None) -> Any:
    value = command.params.get(name, default)
    if value is None or isinstance(value, bool) != (kind is bool) or not isinstance(value, kind):
        raise MethodError(f"params.{name}: expected {_NAMES.get(kind, kind.__name__)}")
    return value


_NAMES = {str: "text", int: "a whole number", dict: "an object", bool: "true or false"}
