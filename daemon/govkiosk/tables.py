"""Typed tables: TOML documents turned into frozen dataclasses, every problem named.

A dataclass field carries its own expectation (:mod:`.fields`); :class:`Builder` checks
a table against it, field by field, and collects :class:`Problem`s naming the file that
set the key, the key's dotted path and what was expected. The configuration
(:mod:`.config`) and the item catalogue's files are both built this way.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import (
    Any,
    Dict,
    List,
    Literal,
    Mapping,
    Optional,
    Sequence,
    Tuple,
    Type,
    TypeVar,
    Union,
    get_args,
    get_origin,
    get_type_hints,
)

from .errors import GovkioskError

T = TypeVar("T")
KeyPath = Tuple[str, ...]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the configuration."""

    file: str
    key: str
    message: str

    def __str__(self) -> str:
        return (
            f"{self.file}: {self.key}: {self.message}"
            if self.key
            else f"{self.file}: {self.message}"
        )


class ConfigError(GovkioskError):
    """The configuration cannot be used; ``problems`` lists every reason."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


def _describe(value: Any) -> str:
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, (str, bool, int, float)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


class Builder:
    """Turns the merged TOML document into dataclasses, collecting problems."""

    def __init__(self, origins: Mapping[KeyPath, str], main_file: str) -> None:
        self.origins = origins
        self.main_file = main_file
        self.problems: List[Problem] = []

    def fail(self, path: KeyPath, message: str) -> None:
        for cut in range(len(path), 0, -1):
            if path[:cut] in self.origins:
                file = self.origins[path[:cut]]
                break
        else:
            file = self.main_file
        self.problems.append(Problem(file, ".".join(path), message))

    def build(self, cls: Type[T], table: Mapping[str, Any], path: KeyPath) -> T:
        hints = get_type_hints(cls)
        fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        for unknown in sorted(set(table) - set(fields)):
            self.fail((*path, unknown), f"unknown key (known keys: {', '.join(sorted(fields))})")
        before = len(self.problems)
        values: Dict[str, Any] = {}
        for name, spec in fields.items():
            key = (*path, name)
            if name not in table:
                if _has_default(spec):
                    continue
                self.fail(key, f"required, expected {spec.metadata.get('expect', 'a value')}")
                values[name] = None
                continue
            values[name] = self.convert(table[name], hints[name], key, spec.metadata)
        if len(self.problems) > before:
            return None  # type: ignore[return-value]  # never used: the load fails
        built = cls(**values)
        # A table's checks across its keys: ``config_problems()`` gives (key, message) pairs.
        across = getattr(built, "config_problems", None)
        if across is not None:
            for name, message in across():
                self.fail((*path, name), message)
        return built

    def convert(self, value: Any, hint: Any, key: KeyPath, meta: Mapping[str, Any]) -> Any:
        expect = meta.get("expect")
        parse = meta.get("parse")
        if parse is not None:  # a field from fields.parsed(): the parser gives the reason
            try:
                return parse(value)
            except ValueError as err:
                self.fail(key, str(err))
                return None
        converted = self._typed(value, hint, key, expect)
        if converted is _INVALID:
            return None
        check = meta.get("check")
        # None: a table whose keys had problems (reported already); TOML has no null.
        if check is not None and converted is not None and not check(converted):
            self.fail(key, f"expected {expect}, got {_describe(value)}")
            return None
        return converted

    def _typed(self, value: Any, hint: Any, key: KeyPath, expect: Optional[str]) -> Any:
        origin = get_origin(hint)
        args = get_args(hint)
        if dataclasses.is_dataclass(hint):
            if not isinstance(value, dict):
                return self._wrong(key, "a table", value)
            return self.build(hint, value, key)  # type: ignore[arg-type]
        if origin is Union:
            inner = [a for a in args if a is not type(None)]
            return self._typed(value, inner[0], key, expect)
        if origin is Literal:
            if value in args and type(value) is type(args[0]):
                return value
            choices = " or ".join(json.dumps(a, ensure_ascii=False) for a in args)
            return self._wrong(key, choices, value)
        if origin in (tuple, Tuple):
            if not isinstance(value, list):
                return self._wrong(key, expect or "a list", value)
            items = [
                self._typed(item, args[0], (*key, str(i)), None) for i, item in enumerate(value)
            ]
            return _INVALID if any(i is _INVALID for i in items) else tuple(items)
        return self._scalar(value, hint, key, expect)

    def _scalar(self, value: Any, hint: Any, key: KeyPath, expect: Optional[str]) -> Any:
        if hint is bool:
            return (
                value
                if isinstance(value, bool)
                else self._wrong(key, expect or "true or false", value)
            )
        if isinstance(value, bool):
            return self._wrong(key, expect or _SCALAR_NAMES.get(hint, "a value"), value)
        if hint is float and isinstance(value, (int, float)):
            return float(value)
        if hint in (int, str) and isinstance(value, hint):
            return value
        return self._wrong(key, expect or _SCALAR_NAMES.get(hint, "a value"), value)

    def _wrong(self, key: KeyPath, expected: str, value: Any) -> Any:
        self.fail(key, f"expected {expected}, got {_describe(value)}")
        return _INVALID


_INVALID = object()
_SCALAR_NAMES = {int: "a whole number", float: "a number", str: "a string"}


def _has_default(spec: dataclasses.Field[Any]) -> bool:
    missing = dataclasses.MISSING
    return spec.default is not missing or spec.default_factory is not missing
