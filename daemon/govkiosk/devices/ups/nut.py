"""The NUT network protocol (``upsd``, TCP 3493), pure: lines in, values out, no I/O.

Replies are lines of words; a word with spaces is double-quoted, with ``\\"`` and
``\\\\`` as escapes. Errors come as ``ERR <TOKEN>`` and become typed exceptions here,
so a caller tells "the data is stale" (keep running, mark the reading stale) from
"access denied" (fix the configuration) without comparing strings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Dict, List, Mapping, Optional, Sequence, Type
from urllib.parse import unquote, urlsplit

from .errors import (
    NutAccessError,
    NutServerError,
    NutStaleError,
    NutUnknownUpsError,
    NutUnsupportedError,
    UpsError,
    UpsProtocolError,
)
from .state import UpsState

DEFAULT_PORT = 3493
_CREDENTIALS = re.compile(r"//[^/@]*@")


_ERRORS: Dict[str, Type[NutServerError]] = {
    "ACCESS-DENIED": NutAccessError,
    "INVALID-USERNAME": NutAccessError,
    "INVALID-PASSWORD": NutAccessError,
    "USERNAME-REQUIRED": NutAccessError,
    "PASSWORD-REQUIRED": NutAccessError,
    "UNKNOWN-UPS": NutUnknownUpsError,
    "DATA-STALE": NutStaleError,
    "DRIVER-NOT-CONNECTED": NutStaleError,
    "VAR-NOT-SUPPORTED": NutUnsupportedError,
    "CMD-NOT-SUPPORTED": NutUnsupportedError,
    "FEATURE-NOT-SUPPORTED": NutUnsupportedError,
    "FEATURE-NOT-CONFIGURED": NutUnsupportedError,
    "UNKNOWN-COMMAND": NutUnsupportedError,
}


def split_line(line: str) -> List[str]:
    """``VAR ups ups.status "OL CHRG"`` → ``["VAR", "ups", "ups.status", "OL CHRG"]``."""
    words: List[str] = []
    i, end = 0, len(line)
    while i < end:
        if line[i] in " \t":
            i += 1
            continue
        quoted = line[i] == '"'
        i += quoted
        word: List[str] = []
        closed = False
        while i < end:
            char = line[i]
            if char == "\\":
                if i + 1 == end:
                    raise UpsProtocolError(f"upsd: a line ends inside an escape: {line!r}")
                word.append(line[i + 1])
                i += 2
                continue
            if quoted and char == '"':
                i += 1
                closed = True
                break
            if not quoted and char in " \t":
                break
            word.append(char)
            i += 1
        if quoted and not closed:
            raise UpsProtocolError(f"upsd: unterminated quoted value: {line!r}")
        words.append("".join(word))
    return words


def quote(value: str) -> str:
    """A word as upsd expects it in a command."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def command(*words: str) -> bytes:
    """``command("GET", "VAR", ups, "ups.status")`` → the line to send."""
    return (" ".join(quote(w) if _needs_quotes(w) else w for w in words) + "\n").encode()


def _needs_quotes(word: str) -> bool:
    return not word or any(c in word for c in ' \t"\\')


def raise_for_error(words: Sequence[str]) -> None:
    """Raise the typed error for an ``ERR <TOKEN> [detail]`` reply; return otherwise."""
    if not words or words[0] != "ERR":
        return
    token = words[1] if len(words) > 1 else "UNKNOWN"
    raise _ERRORS.get(token, NutServerError)(token, " ".join(words[2:]))


def parse_reply(line: str) -> List[str]:
    """One reply line: its words, or the typed error it reports."""
    words = split_line(line)
    if not words:
        raise UpsProtocolError("upsd: empty reply")
    raise_for_error(words)
    return words


def parse_get_var(words: Sequence[str], ups: str, var: str) -> str:
    """``VAR <ups> <var> "<value>"`` → value."""
    if len(words) != 4 or words[0] != "VAR" or words[1] != ups or words[2] != var:
        raise UpsProtocolError(f"upsd: expected VAR {ups} {var}, got {' '.join(words)!r}")
    return words[3]


@dataclass(frozen=True)
class ListQuery:
    """``LIST UPS`` or ``LIST VAR <ups>``: the words after ``LIST``."""

    words: Sequence[str]

    @property
    def request(self) -> bytes:
        return command("LIST", *self.words)

    def is_begin(self, words: Sequence[str]) -> bool:
        return list(words) == ["BEGIN", "LIST", *self.words]

    def is_end(self, words: Sequence[str]) -> bool:
        return list(words) == ["END", "LIST", *self.words]

    def item(self, words: Sequence[str]) -> List[str]:
        """An item line's words after the item keyword and the list's own words.

        ``VAR myups battery.charge "100"`` in ``LIST VAR myups`` → ``["battery.charge", "100"]``.
        """
        kind = self.words[0]
        prefix = [kind, *self.words[1:]]
        if list(words[: len(prefix)]) != prefix:
            raise UpsProtocolError(f"upsd: unexpected line in LIST {kind}: {' '.join(words)!r}")
        return list(words[len(prefix) :])


def parse_list(query: ListQuery, lines: Sequence[str]) -> List[List[str]]:
    """A complete list reply, ``BEGIN LIST …`` through ``END LIST …``, as items."""
    if not lines:
        raise UpsProtocolError("upsd: empty list reply")
    first = parse_reply(lines[0])
    if not query.is_begin(first):
        raise UpsProtocolError(f"upsd: expected BEGIN LIST, got {lines[0]!r}")
    items: List[List[str]] = []
    for line in lines[1:]:
        words = parse_reply(line)
        if query.is_end(words):
            return items
        items.append(query.item(words))
    raise UpsProtocolError("upsd: list reply without END LIST")


def vars_from_items(items: Sequence[Sequence[str]]) -> Dict[str, str]:
    """``LIST VAR`` items (name, value) as a mapping."""
    result: Dict[str, str] = {}
    for item in items:
        if len(item) != 2:
            raise UpsProtocolError(f"upsd: malformed VAR item {item!r}")
        result[item[0]] = item[1]
    return result


def _number(text: Optional[str]) -> Optional[float]:
    if text is None:
        return None
    try:
        return float(text)
    except ValueError:
        return None


def state_from_vars(variables: Mapping[str, str], source: str) -> UpsState:
    """A UPS's NUT variables as a :class:`UpsState`; unknown status tokens are kept.

    ``WAIT`` (upsd has no data from the driver yet, or no longer) makes the state stale.
    """
    get = variables.get
    status = tuple(get("ups.status", "").split())
    return UpsState(
        status=status,
        charge=_number(get("battery.charge")),
        runtime=_number(get("battery.runtime")),
        load=_number(get("ups.load")),
        input_voltage=_number(get("input.voltage")),
        output_voltage=_number(get("output.voltage")),
        battery_voltage=_number(get("battery.voltage")),
        temperature=_number(get("ups.temperature")),
        source=source,
        stale="WAIT" in status,
    )


@dataclass(frozen=True)
class NutAddress:
    """``nut://[user:pass@]host[:port]/upsname``."""

    host: str
    port: int
    ups: str
    user: Optional[str] = None
    password: Optional[str] = None

    @property
    def source(self) -> str:
        """The address without credentials: safe for logs, events and D-Bus."""
        return f"nut://{self.host}:{self.port}/{self.ups}"


def redact(port: str) -> str:
    """The port with any ``user:pass@`` hidden, fit for messages."""
    return _CREDENTIALS.sub("//***@", port)


def is_nut_port(port: str) -> bool:
    return port.startswith("nut://")


def parse_address(port: str) -> NutAddress:
    try:
        parts = urlsplit(port)
        tcp_port = parts.port or DEFAULT_PORT
    except ValueError as err:
        raise UpsError(f"{redact(port)}: {err}") from err
    ups = parts.path.strip("/")
    if parts.scheme != "nut" or not parts.hostname or not ups or "/" in ups:
        raise UpsError(f"expected nut://[user:pass@]host[:port]/upsname, got {redact(port)!r}")
    return NutAddress(
        host=parts.hostname,
        port=tcp_port,
        ups=ups,
        user=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password is not None else None,
    )
