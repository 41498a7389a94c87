"""The bridge's methods: parameters, results, the device each needs, their checks.

One table (:data:`METHODS`) is the bridge's whole interface: :func:`parse_params` checks a
call's JSON against it, the JS client's method list is generated from it
(:func:`client_methods`) and so is ``docs/bridge-reference.md`` (:func:`reference`,
``govkioskctl webapp reference``; a test fails when the file is stale).
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Tuple

from .errors import BadRequestError

VERSION = "v1"

#: Parameter kinds: ``string`` (``limit``: characters), ``integer`` (``low``..``high``),
#: ``number`` (``low``..``high``), ``strings`` (a list of strings; ``limit``: entries),
#: ``base64`` (standard base64; ``limit``: decoded bytes), ``lines`` (receipt lines:
#: objects ``{"text": …}`` or ``{"qr": …}``; ``limit``: lines).
KINDS = ("string", "integer", "number", "strings", "base64", "lines")

#: The longest text of a receipt line, a QR code's text and a spoken prompt.
LINE_LIMIT = 200
QR_LIMIT = 500
SPEECH_LIMIT = 200


@dataclass(frozen=True)
class Param:
    name: str
    kind: str
    doc: str
    required: bool = True
    default: Any = None
    low: float = 0
    high: float = 0
    limit: int = 0


@dataclass(frozen=True)
class Method:
    name: str
    doc: str
    params: Tuple[Param, ...]
    result: Tuple[Tuple[str, str], ...]  #: (name, what) of the result object's keys
    #: The ``[items.webapp] devices`` entry the method needs; ``None``: any web-app may call it.
    device: Optional[str] = None
    #: The citizen acts on the kiosk's own screen during the call (consent, card, face, camera).
    interactive: bool = False


METHODS: Dict[str, Method] = {
    m.name: m
    for m in (
        Method(
            "session.info",
            "The session: the item's code, the card fields and devices it declared, seconds left.",
            (),
            (
                ("item", "the item's code"),
                ("fields", "the card fields the item declared"),
                ("devices", "the devices the item declared"),
                ("expires_in", "seconds until the session ends by its time limit"),
            ),
        ),
        Method(
            "idcard.read",
            "Read the citizen's ID card. The kiosk first shows its own consent screen naming the"
            " fields (the page cannot draw or skip it); if the citizen agrees, the card is read"
            " (or the card read earlier in the session is used) and only the fields asked for"
            " are returned. Declined: 403 `declined`.",
            (
                Param(
                    "fields",
                    "strings",
                    "card fields wanted, each declared by the item; omitted: all declared fields",
                    required=False,
                    limit=20,
                ),
            ),
            (("fields", "an object: field name → value as the card stores it"),),
            device="idcard",
            interactive=True,
        ),
        Method(
            "face.verify",
            "Compare the person at the screen with the card's photo (人证核验) on the kiosk's"
            " own screen; the card must have been read in this session.",
            (),
            (("matched", "true when the same, live person"),),
            device="face",
            interactive=True,
        ),
        Method(
            "print.pdf",
            "Print a PDF on the A4 printer, through the same seal verification as native items"
            " when the item's `seal_required` is true. Pages × copies count against the item's"
            " `max_pages` for the session.",
            (
                Param("pdf", "base64", "the PDF, base64", limit=12_000_000),
                Param(
                    "copies",
                    "integer",
                    "copies to print",
                    required=False,
                    default=1,
                    low=1,
                    high=5,
                ),
            ),
            (("job", "the job's name"), ("pages", "pages printed (of one copy)")),
            device="print_a4",
        ),
        Method(
            "print.receipt",
            "Print a receipt slip: text lines and QR codes.",
            (
                Param(
                    "lines",
                    "lines",
                    f'up to 40 lines, each {{"text": …}} (≤ {LINE_LIMIT} characters) or'
                    f' {{"qr": …}} (≤ {QR_LIMIT} characters)',
                    limit=40,
                ),
            ),
            (("job", "the job's name"),),
            device="print_receipt",
        ),
        Method(
            "qr.scan",
            "Wait for the citizen to scan a QR code with the kiosk's scanner.",
            (
                Param(
                    "timeout",
                    "number",
                    "seconds to wait",
                    required=False,
                    default=30.0,
                    low=1,
                    high=120,
                ),
            ),
            (("text", "the code's text"),),
            device="qrscanner",
        ),
        Method(
            "doccam.capture",
            "Capture paper pages with the document camera, on the kiosk's own screen (aim,"
            " review, retake, page by page); returned as one PDF.",
            (
                Param(
                    "pages",
                    "integer",
                    "pages to capture",
                    required=False,
                    default=1,
                    low=1,
                    high=10,
                ),
            ),
            (("pdf", "the pages as a PDF, base64"),),
            device="doccam",
            interactive=True,
        ),
        Method(
            "speech.say",
            "Speak a prompt (the kiosk's voice) and show it as the session's prompt.",
            (Param("text", "string", "what to say", limit=SPEECH_LIMIT),),
            (),
            device="speech",
        ),
        Method(
            "session.end",
            "End the session: the browser closes, its profile is wiped, the token is revoked,"
            " the kiosk returns home.",
            (),
            (),
        ),
    )
}


def _bad(name: str, expect: str) -> BadRequestError:
    return BadRequestError(f"{name}: expected {expect}")


def _check(param: Param, value: Any) -> Any:
    kind, name = param.kind, param.name
    if kind == "string":
        if not isinstance(value, str) or not value.strip() or len(value) > param.limit:
            raise _bad(name, f"a non-empty string of at most {param.limit} characters")
        return value
    if kind in ("integer", "number"):
        ok = type(value) is int or (kind == "number" and type(value) is float)
        if not ok or not param.low <= value <= param.high:
            raise _bad(
                name,
                f"a{'n integer' if kind == 'integer' else ' number'} from"
                f" {param.low:g} to {param.high:g}",
            )
        return value
    if kind == "strings":
        if (
            not isinstance(value, list)
            or len(value) > param.limit
            or not all(isinstance(v, str) for v in value)
        ):
            raise _bad(name, f"a list of at most {param.limit} strings")
        return tuple(value)
    if kind == "base64":
        if not isinstance(value, str) or len(value) > (param.limit * 4) // 3 + 4:
            raise _bad(name, f"base64 of at most {param.limit} bytes")
        try:
            return base64.b64decode(value.encode("ascii"), validate=True)
        except (binascii.Error, UnicodeEncodeError):
            raise _bad(name, "standard base64") from None
    if kind == "lines":
        return _lines(param, value)
    raise AssertionError(kind)


def _lines(param: Param, value: Any) -> Tuple[Tuple[str, str], ...]:
    expect = f'a list of 1 to {param.limit} objects {{"text": …}} or {{"qr": …}}'
    if not isinstance(value, list) or not 0 < len(value) <= param.limit:
        raise _bad(param.name, expect)
    lines: List[Tuple[str, str]] = []
    for line in value:
        if not isinstance(line, dict) or len(line) != 1:
            raise _bad(param.name, expect)
        ((key, text),) = line.items()
        limit = LINE_LIMIT if key == "text" else QR_LIMIT
        if key not in ("text", "qr") or not isinstance(text, str) or len(text) > limit:
            raise _bad(param.name, expect + f" (text ≤ {LINE_LIMIT}, qr ≤ {QR_LIMIT} characters)")
        if key == "qr" and not text:
            raise _bad(param.name, "a QR code with some text")
        if any(ord(c) < 0x20 for c in text):
            raise _bad(param.name, "text without control characters")
        lines.append((key, text))
    return tuple(lines)


def parse_body(body: bytes) -> Mapping[str, Any]:
    """A request body: a JSON object (empty body: ``{}``)."""
    if not body.strip():
        return {}
    try:
        document = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise BadRequestError("the body is not JSON (UTF-8)") from None
    if not isinstance(document, dict):
        raise BadRequestError("the body must be a JSON object")
    return document


def parse_params(method: Method, document: Mapping[str, Any]) -> Dict[str, Any]:
    """``document`` checked against ``method``'s parameters; defaults filled in.

    Raises :class:`BadRequestError` naming the parameter; nothing else."""
    known = {p.name: p for p in method.params}
    unknown = sorted(set(document) - set(known))
    if unknown:
        shown = ", ".join(json.dumps(u)[:40] for u in unknown[:5])
        raise BadRequestError(f"unknown parameter {shown} (known: {', '.join(known) or 'none'})")
    values: Dict[str, Any] = {}
    for param in method.params:
        if param.name in document:
            values[param.name] = _check(param, document[param.name])
        elif param.required:
            raise _bad(param.name, "a value (required)")
        else:
            values[param.name] = param.default
    return values


def client_methods() -> List[str]:
    """The method names the JS client offers, in the table's order."""
    return list(METHODS)


def _param_line(param: Param) -> str:
    bounds = ""
    if param.kind in ("integer", "number"):
        bounds = f", {param.low:g}–{param.high:g}"
    elif param.limit:
        bounds = f", at most {param.limit}"
    default = "" if param.required else f"; optional, default `{json.dumps(param.default)}`"
    return f"- `{param.name}` ({param.kind}{bounds}{default}): {param.doc}"


def reference() -> str:
    """``docs/bridge-reference.md``: the methods as the table says."""
    out = [
        "# The web-app bridge: reference",
        "",
        "<!-- generated by `govkioskctl webapp reference` from"
        " daemon/govkiosk/webapps/schema.py; do not edit -->",
        "",
        f"Every call is `POST /{VERSION}/<method>` on `http://127.0.0.1:<port>` with"
        " `Authorization: Bearer <token>`, `Origin` (one of the item's `origins`),"
        " `Content-Type: application/json` and a JSON object body; the answer is a JSON object,"
        ' or `{"error": {"code": …, "message": …}}` with the status below.'
        f" `GET /{VERSION}/client.js` is the JS client (docs/webapps.md).",
        "",
        "| status | code | when |",
        "|---|---|---|",
        "| 400 | `bad_request` | the body or a parameter is not as described here |",
        "| 401 | `unauthorized` | no token, or not the current session's |",
        "| 403 | `forbidden` | origin or host not allowed; a field or device the item did not"
        " declare |",
        "| 403 | `declined` | the citizen declined on the consent screen |",
        "| 404 | `unknown_method` | no such method |",
        "| 409 | `busy` | another device call of the session is under way |",
        "| 410 | `session_ended` | the token's session has ended |",
        "| 413 | `too_large` | the body is over the cap, or the pages over `max_pages` |",
        "| 429 | `rate_limited` | too many calls |",
        "| 502 | `device_failed` | a device or the department failed |",
        "",
    ]
    for method in METHODS.values():
        out += [f"## `{method.name}`", "", method.doc, ""]
        needs = f"`{method.device}` in the item's `devices`" if method.device else "nothing"
        out += [f"Needs: {needs}." + (" Interactive." if method.interactive else ""), ""]
        out.append("Parameters:" if method.params else "Parameters: none.")
        out += [_param_line(p) for p in method.params]
        out.append("")
        out.append("Result:" if method.result else "Result: `{}`.")
        out += [f"- `{name}`: {what}" for name, what in method.result]
        out.append("")
    return "\n".join(out)
