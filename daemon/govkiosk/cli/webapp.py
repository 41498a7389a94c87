"""``govkioskctl webapp``: for integrators onboarding a province's web app (docs/webapps.md).

``webapp check URL`` fetches the page over HTTPS as the kiosk browser would and prints one
``PASS``/``FAIL``/``WARN`` line per check: the URL is https; its origin (and the origin it
ends at after redirects) is in the item's allow-list (``--catalogue FILE --item CODE``, or
``--origin`` given one by one); the TLS certificate is valid for the host (the system's CA
store, or ``--cafile``); the page answers 200 with HTML; its ``Content-Security-Policy``
and ``X-Frame-Options`` are sane (no ``unsafe-eval``, no wildcard script source, framing
refused) and let the page reach the bridge (``http://127.0.0.1``); and the page loads the
bridge's ``client.js``. Exit status: 0 every check passed (warnings allowed), 1 one failed,
2 the catalogue could not be read.

``webapp reference [--output FILE]`` writes docs/bridge-reference.md from the bridge's schema.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import ssl
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence

from ..contract.logs import printable

PROG = "govkioskctl webapp"
EXIT_PASSED, EXIT_FAILED, EXIT_UNREADABLE = 0, 1, 2
#: The most of the page read: enough for any page's head.
MAX_PAGE = 2 * 1024 * 1024
BRIDGE = "http://127.0.0.1"


@dataclass(frozen=True)
class Finding:
    verdict: str  #: PASS, FAIL or WARN
    check: str
    detail: str

    def line(self) -> str:
        return f"{self.verdict} {self.check}: {printable(self.detail, 300)}"


def _directives(policy: str) -> Dict[str, List[str]]:
    """A CSP header's directives: name → sources (lower case)."""
    found: Dict[str, List[str]] = {}
    for part in policy.split(";"):
        words = part.strip().lower().split()
        if words and words[0] not in found:
            found[words[0]] = words[1:]
    return found


def _allows_bridge(sources: Optional[List[str]]) -> bool:
    if sources is None:
        return True  # no directive: nothing restricts it
    return any(
        s in ("*", "http:", "http://127.0.0.1", "http://127.0.0.1:*")
        or s.startswith("http://127.0.0.1:")
        for s in sources
    )


def header_findings(headers: Mapping[str, str]) -> List[Finding]:
    """What the page's headers say about framing, scripts and reaching the bridge. Pure."""
    findings: List[Finding] = []
    policy = headers.get("content-security-policy", "")
    csp = _directives(policy)
    framing = headers.get("x-frame-options", "").strip().lower()
    ancestors = csp.get("frame-ancestors")
    if framing in ("deny", "sameorigin") or (
        ancestors is not None and set(ancestors) <= {"'none'", "'self'"}
    ):
        findings.append(Finding("PASS", "framing", "other sites cannot frame the page"))
    else:
        findings.append(
            Finding(
                "FAIL",
                "framing",
                "send X-Frame-Options: DENY or CSP frame-ancestors 'none' (clickjacking)",
            )
        )
    if not policy:
        findings.append(Finding("WARN", "csp", "no Content-Security-Policy: any script may run"))
        return findings
    scripts = csp.get("script-src", csp.get("default-src"))
    connects = csp.get("connect-src", csp.get("default-src"))
    problems = []
    if scripts is not None and ("*" in scripts or "'unsafe-eval'" in scripts):
        problems.append("script-src allows '*' or 'unsafe-eval'")
    if not _allows_bridge(scripts):
        problems.append(f"script-src must allow {BRIDGE}:<port> (client.js)")
    if not _allows_bridge(connects):
        problems.append(f"connect-src must allow {BRIDGE}:<port> (the bridge)")
    if problems:
        findings.append(Finding("FAIL", "csp", "; ".join(problems)))
    else:
        findings.append(Finding("PASS", "csp", printable(policy, 160)))
    if scripts is not None and "'unsafe-inline'" in scripts:
        findings.append(Finding("WARN", "csp", "script-src allows 'unsafe-inline'"))
    return findings


_CLIENT = re.compile(r"""/v1/client\.js\b""")


@dataclass(frozen=True)
class Fetched:
    """A page as fetched: where it ended (after redirects), status, headers, body."""

    url: str
    status: int
    headers: Mapping[str, str]  #: lower-case names
    body: str


def page_findings(url: str, page: Fetched, origins: Sequence[str]) -> List[Finding]:
    """Every check on a fetched page but TLS (which the fetch did). Pure."""
    from ..items.catalogue import origin_of  # noqa: PLC0415

    findings: List[Finding] = []
    for label, where in (("origin", url), ("final origin", page.url)):
        origin = origin_of(where)
        if not origins:
            findings.append(Finding("WARN", label, f"{origin or where}: no allow-list given"))
        elif origin in origins:
            findings.append(Finding("PASS", label, f"{origin} is allowed"))
        else:
            findings.append(Finding("FAIL", label, f"{origin or where} is not in the allow-list"))
    status, headers = page.status, page.headers
    status, headers = page.status, page.headers
    content_type = headers.get("content-type", "")
    if status == 200 and content_type.split(";")[0].strip() == "text/html":
        findings.append(Finding("PASS", "page", f"200 {content_type}"))
    else:
        findings.append(Finding("FAIL", "page", f"{status} {content_type or 'no content type'}"))
    findings.extend(header_findings(headers))
    if _CLIENT.search(page.body):
        findings.append(Finding("PASS", "client.js", "the page loads the bridge's client"))
    else:
        findings.append(
            Finding(
                "FAIL", "client.js", "the page does not load http://127.0.0.1:<port>/v1/client.js"
            )
        )
    return findings


async def fetch(url: str, cafile: Optional[Path], timeout: float) -> Fetched:
    """The page (the start of its body) at ``url``, redirects followed."""
    import aiohttp  # noqa: PLC0415 - only this command needs it

    context = ssl.create_default_context(cafile=str(cafile) if cafile else None)
    async with aiohttp.ClientSession(
        timeout=aiohttp.ClientTimeout(total=timeout)
    ) as http, http.get(url, ssl=context, max_redirects=5) as response:
        body = await response.content.read(MAX_PAGE)
        headers = {k.lower(): v for k, v in response.headers.items()}
        text = body.decode(response.charset or "utf-8", "replace")
        return Fetched(str(response.url), response.status, headers, text)


async def check(
    url: str, origins: Sequence[str], cafile: Optional[Path], timeout: float
) -> List[Finding]:
    import aiohttp  # noqa: PLC0415

    if not url.startswith("https://"):
        return [Finding("FAIL", "https", f"{url}: a web-app item's URL must be https://")]
    findings = [Finding("PASS", "https", url)]
    try:
        page = await fetch(url, cafile, timeout)
    except aiohttp.ClientConnectorCertificateError as err:
        return [
            *findings,
            Finding("FAIL", "tls", f"certificate not valid: {err.certificate_error}"),
        ]
    except aiohttp.ClientSSLError as err:
        return [*findings, Finding("FAIL", "tls", f"TLS failed: {err}")]
    except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as err:
        return [*findings, Finding("FAIL", "fetch", f"{type(err).__name__}: {err}")]
    findings.append(Finding("PASS", "tls", "the certificate is valid for the host"))
    if not page.url.startswith("https://"):
        findings.append(Finding("FAIL", "https", f"redirected to {page.url}"))
    return findings + page_findings(url, page, origins)


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=PROG, description="web-app items: onboarding checks")
    actions = parser.add_subparsers(dest="action", required=True)
    run = actions.add_parser("check", help="check a web app's page as the kiosk would load it")
    run.add_argument("url", help="the page's https:// URL")
    run.add_argument("--catalogue", type=Path, help="a catalogue file holding the item")
    run.add_argument("--item", help="the item's code in --catalogue (its webapp.origins)")
    run.add_argument("--origin", action="append", default=[], help="an allowed origin (repeatable)")
    run.add_argument("--cafile", type=Path, help="trust this CA (PEM) instead of the system's")
    run.add_argument("--timeout", type=float, default=15.0, help="seconds for the fetch")
    ref = actions.add_parser("reference", help="write the bridge reference from its schema")
    ref.add_argument("--output", type=Path, help="the file (default: stdout)")
    return parser.parse_args(argv)


def _origins(args: argparse.Namespace) -> List[str]:
    origins = list(args.origin)
    if args.catalogue is not None:
        from ..items.catalogue import load_catalogue  # noqa: PLC0415

        item = load_catalogue(args.catalogue).get(args.item or "")
        if item is None or item.webapp is None:
            raise ValueError(f"{args.catalogue}: no web-app item {args.item!r}")
        origins.extend(item.webapp.origins)
    return origins


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.action == "reference":
        from ..webapps.schema import reference  # noqa: PLC0415

        text = reference()
        if args.output is None:
            sys.stdout.write(text)
        else:
            args.output.write_text(text, encoding="utf-8")
        return EXIT_PASSED
    from ..errors import GovkioskError  # noqa: PLC0415

    try:
        origins = _origins(args)
    except (ValueError, GovkioskError) as err:
        print(f"{PROG}: {printable(str(err), 500)}", file=sys.stderr)
        return EXIT_UNREADABLE
    findings = asyncio.run(check(args.url, origins, args.cafile, args.timeout))
    for finding in findings:
        print(finding.line())
    failed = any(f.verdict == "FAIL" for f in findings)
    print("FAIL" if failed else "PASS")
    return EXIT_FAILED if failed else EXIT_PASSED
