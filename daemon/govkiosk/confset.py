"""``config.set``: a configuration change from ops, validated, applied atomically, undone
if the daemon is not healthy afterwards.

Changes accumulate in one drop-in, ``conf.d/90-ops.toml`` (after the site's own files,
so ops' values win). The candidate is validated as a whole configuration in a scratch
copy first; only then is the drop-in replaced (write, fsync, rename) and the daemon
reloaded. Which keys may be changed at all is ops' policy (``ops/remote_config.py``),
checked before a change reaches this module.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Tuple

from .config import DROPIN_DIR, config_files, load_config
from .errors import GovkioskError
from .tables import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on the kiosks' Python 3.8
    import tomli as tomllib

DROPIN = "90-ops.toml"


class ConfigSetError(GovkioskError):
    """The change is not allowed or not valid; nothing was applied."""


def dropin_path(config_path: Path) -> Path:
    return config_path.parent / DROPIN_DIR / DROPIN


def read_dropin(config_path: Path) -> Optional[bytes]:
    try:
        return dropin_path(config_path).read_bytes()
    except FileNotFoundError:
        return None


def candidate(config_path: Path, values: Mapping[str, Any]) -> bytes:
    """The new drop-in: the current one with ``values`` merged in; validated, not applied."""
    current = read_dropin(config_path)
    merged: Dict[str, Any] = tomllib.loads(current.decode("utf-8")) if current else {}
    _merge(merged, values)
    text = dumps(merged).encode("utf-8")
    _validate(config_path, text)
    return text


def write(config_path: Path, content: Optional[bytes]) -> None:
    """Replace the drop-in atomically (``None`` removes it)."""
    target = dropin_path(config_path)
    if content is None:
        target.unlink(missing_ok=True)
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, scratch = tempfile.mkstemp(dir=str(target.parent), prefix=".90-ops.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(content)
            out.flush()
            os.fsync(out.fileno())
        os.replace(scratch, target)
    except BaseException:
        Path(scratch).unlink(missing_ok=True)
        raise


def _validate(config_path: Path, dropin: bytes) -> None:
    with tempfile.TemporaryDirectory(prefix="govkiosk-config-") as scratch:
        root = Path(scratch)
        (root / DROPIN_DIR).mkdir()
        files = config_files(config_path)
        main = root / config_path.name
        shutil.copyfile(files[0], main)
        for file in files[1:]:
            if file.name != DROPIN:
                shutil.copyfile(file, root / DROPIN_DIR / file.name)
        (root / DROPIN_DIR / DROPIN).write_bytes(dropin)
        try:
            load_config(main)
        except ConfigError as err:
            raise ConfigSetError(f"the configuration would not be valid:\n{err}") from None


def _merge(into: Dict[str, Any], values: Mapping[str, Any]) -> None:
    for key, value in values.items():
        if isinstance(value, Mapping) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = json.loads(json.dumps(value))  # a deep, plain copy


def dumps(document: Mapping[str, Any]) -> str:
    """TOML for what JSON can carry: tables, arrays of tables, scalars and scalar arrays."""
    lines: List[str] = []
    _table(document, (), lines)
    return "\n".join(lines).strip() + "\n"


def _table(table: Mapping[str, Any], path: Tuple[str, ...], lines: List[str]) -> None:
    subtables: List[Tuple[str, Any]] = []
    for key, value in table.items():
        if isinstance(value, Mapping) or _array_of_tables(value):
            subtables.append((key, value))
        else:
            lines.append(f"{_key(key)} = {_value(value)}")
    for key, value in subtables:
        name = ".".join(_key(k) for k in (*path, key))
        if isinstance(value, list):
            for item in value:
                lines += ["", f"[[{name}]]"]
                _table(item, (*path, key), lines)
        else:
            lines += ["", f"[{name}]"]
            _table(value, (*path, key), lines)


def _array_of_tables(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, Mapping) for v in value)


def _key(key: str) -> str:
    bare = key.replace("_", "").replace("-", "").isalnum() and key.isascii()
    return key if bare else _string(key)


def _string(text: str) -> str:
    """A TOML basic string: quotes, backslashes and control characters escaped."""
    escaped = "".join(
        f"\\u{ord(ch):04x}" if ord(ch) < 0x20 or ord(ch) == 0x7F else ch
        for ch in text.replace("\\", "\\\\").replace('"', '\\"')
    )
    return f'"{escaped}"'


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if value is None:
        raise ConfigSetError("null has no TOML form: leave the key out instead")
    raise ConfigSetError(f"a value of type {type(value).__name__} has no TOML form")
