"""``govkioskctl fleet …``: what ops staff run — keys, the site CA, commands, the fleet view.

    fleet keys generate --dir ~/.govkiosk/keys alice-2026
    fleet keys export --dir ~/.govkiosk/keys --roles operator alice-2026   # → kiosk [ops]
    fleet ca init --dir /srv/site-ca
    fleet ca issue-kiosk --dir /srv/site-ca hl-hrb-0042 --out /tmp/hl-hrb-0042 [--sm2-reply]
    fleet ca issue-operator --dir /srv/site-ca ops-alice --out ~/.govkiosk
    fleet ca issue-broker --dir /srv/site-ca broker.example 10.0.0.5 --out /etc/mosquitto/govkiosk
    fleet send --broker broker.example --signing-key ~/.govkiosk/keys/alice-2026.key \\
        --role operator --kiosk hl-hrb-0042 printer.test
    fleet watch --broker broker.example [--json]
    fleet serve --config /etc/govkiosk-fleet/metrics.toml   # Prometheus /metrics

Connection flags default from ``GOVKIOSK_FLEET_BROKER``, ``…_CA``, ``…_CERT``, ``…_KEY``,
``…_SM2_CA`` (the site's SM2 signing CA, for kiosks whose replies are SM2-signed).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import json
import logging
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

from ..contract.logs import printable, printable_lines
from ..errors import GovkioskError
from ..fleet.client import HINTS, FleetClient, FleetError, Identity, cosign, describe
from ..fleet.pki import CertificateAuthority, Sm2SigningAuthority
from ..ops.envelope import Reply, Status
from ..ops.roles import ROLES
from ..ops.signing import ED25519, OPERATOR_ALGORITHMS, OperatorSigner
from .output import table

EXIT_FAILED = 1  #: a kiosk answered FAILED or REJECTED
EXIT_USAGE = 2
EXIT_TIMEOUT = 3  #: some kiosk did not answer in time
DEFAULT_PORT = 8883


def _env(name: str, default: str = "") -> str:
    return os.environ.get(f"GOVKIOSK_FLEET_{name}", default)


def _write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(str(path), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)


def generate_key(directory: Path, key_id: str, algorithm: str = ED25519) -> Path:
    """A new key as ``directory/<key_id>.key``; FileExistsError rather than overwrite."""
    path = directory / f"{key_id}.key"
    _write_private(path, OperatorSigner.generate(key_id, algorithm).private_pem())
    return path


def pinned(signer: OperatorSigner, roles: Sequence[str]) -> str:
    """The ``[[ops.operators]]`` table that makes a kiosk trust ``signer`` for ``roles``."""
    algorithm = f'algorithm = "{signer.algorithm}"\n' if signer.algorithm != ED25519 else ""
    return (
        "[[ops.operators]]\n"
        f'key_id = "{signer.key_id}"\n'
        f'public_key = "{signer.public_b64()}"\n'
        f"{algorithm}"
        "roles = [" + ", ".join(f'"{r}"' for r in roles) + "]\n"
    )


def keys_generate(args: argparse.Namespace) -> int:
    try:
        path = generate_key(Path(args.dir), args.key_id, args.algorithm)
    except FileExistsError as err:
        print(f"fleet: {err.filename} exists; a key is never overwritten", file=sys.stderr)
        return EXIT_USAGE
    print(f"{path}: {args.algorithm} key {args.key_id}; pin it with: fleet keys export --roles …")
    return 0


def keys_export(args: argparse.Namespace) -> int:
    roles = [r for r in args.roles.split(",") if r]
    unknown = [r for r in roles if r not in ROLES]
    if not roles or unknown:
        print(f"fleet: --roles: choose among {', '.join(ROLES)}", file=sys.stderr)
        return EXIT_USAGE
    directory = Path(args.dir)
    names = args.key_id or sorted(p.stem for p in directory.glob("*.key"))
    for key_id in names:
        print(pinned(OperatorSigner.load(directory / f"{key_id}.key"), roles))
    return 0


def ca_init(args: argparse.Namespace) -> int:
    CertificateAuthority(args.name, validity=_days(args)).save(Path(args.dir))
    print(f"{args.dir}: site CA {args.name!r} (ca.crt to kiosks and the broker; ca.key stays here)")
    return 0


def _days(args: argparse.Namespace) -> datetime.timedelta:
    return datetime.timedelta(days=getattr(args, "days", 825))


def _issue(args: argparse.Namespace, kind: str) -> int:
    ca = CertificateAuthority.load(Path(args.dir), _days(args))
    out = Path(args.out or ".")
    if kind == "broker":
        credential = ca.issue_server(args.names)
        stem = "broker"
    else:
        credential = ca.issue_client(args.names[0])
        stem = args.names[0]
    cert, key = credential.write(out, stem)
    ca.write(out)
    print(f"{cert}, {key}, {out / 'ca.crt'}")
    if kind == "kiosk" and getattr(args, "sm2_reply", False):
        _issue_sm2_reply(Path(args.dir), out, stem, _days(args))
    if kind == "operator":
        print(f"broker ACL (packaging/mosquitto/acl): add a stanza 'user {stem}' with its topics")
    return 0


def _issue_sm2_reply(directory: Path, out: Path, kiosk_id: str, days: datetime.timedelta) -> None:
    """``<kiosk>-sm2.pem``/``.key``: the kiosk's SM2 reply certificate and key, by the
    site's SM2 signing CA (made in ``directory`` on first use), and ``sm2-ca.pem``."""
    existed = (directory / f"{Sm2SigningAuthority.STEM}.key").exists()
    authority = Sm2SigningAuthority.load_or_create(directory)
    if not existed:
        print(f"{directory}: SM2 signing CA created (sm2-ca.pem to operators; sm2-ca.key stays)")
    issued = authority.issue_reply(kiosk_id, days)
    out.mkdir(parents=True, exist_ok=True)
    issued.save(out / f"{kiosk_id}-sm2")
    (out / "sm2-ca.pem").write_bytes(authority.cert_pem())
    print(f"{out / f'{kiosk_id}-sm2.pem'}, {out / f'{kiosk_id}-sm2.key'}, {out / 'sm2-ca.pem'}")
    print(
        '[ops] reply_algorithm = "sm2-sm3", reply_key and reply_cert: those two files;'
        " operators pass --sm2-ca sm2-ca.pem"
    )


def _identity(args: argparse.Namespace) -> Identity:
    host, _, port = args.broker.partition(":")
    if not host:
        raise FleetError("--broker (or GOVKIOSK_FLEET_BROKER) is required")
    return Identity(
        host,
        int(port or DEFAULT_PORT),
        Path(args.ca),
        Path(args.cert),
        Path(args.key),
        Path(args.sm2_ca) if args.sm2_ca else None,
    )


def _params(args: argparse.Namespace) -> Dict[str, Any]:
    params: Dict[str, Any] = json.loads(args.params) if args.params else {}
    for item in args.param:
        name, _, raw = item.partition("=")
        try:
            params[name] = json.loads(raw)
        except ValueError:
            params[name] = raw  # a bare word is a string
    return params


def _cosign(args: argparse.Namespace) -> int:
    signer = OperatorSigner.load(Path(args.signing_key))
    print(json.dumps(cosign(signer, args.kiosk, args.cmd_id, json.loads(args.values))))
    return 0


def _send_params(args: argparse.Namespace) -> Dict[str, Any]:
    params = _params(args)
    if args.cosign:
        params["cosign"] = json.loads(Path(args.cosign).read_text(encoding="utf-8"))
    if args.cmd_id and len(args.kiosk) != 1:
        raise FleetError("--cmd-id names one command: give exactly one --kiosk")
    return params


async def _send(args: argparse.Namespace, params: Dict[str, Any]) -> int:
    signer = OperatorSigner.load(Path(args.signing_key))
    async with FleetClient(_identity(args)) as fleet:
        replies = await fleet.run(
            signer,
            args.kiosk,
            args.method,
            params,
            role=args.role,
            issuer=args.issuer,
            timeout=args.timeout,
            idle=args.idle,
            cmd_id=args.cmd_id,
            secrets=dict(item.partition("=")[::2] for item in args.secret),
        )
    if args.json:
        document = {k: _reply_json(r) for k, r in replies.items()}
        print(printable_lines(json.dumps(document, ensure_ascii=False, indent=2)))
    else:
        for kiosk_id, reply in replies.items():
            print(describe(kiosk_id, reply))
            if reply is not None and reply.status is Status.SUCCEEDED and reply.result:
                print(printable_lines(json.dumps(reply.result, ensure_ascii=False, indent=2)))
    if any(r is None for r in replies.values()):
        return EXIT_TIMEOUT
    return (
        0
        if all(r is not None and r.status is Status.SUCCEEDED for r in replies.values())
        else EXIT_FAILED
    )


def _reply_json(reply: Optional[Reply]) -> Optional[Dict[str, Any]]:
    if reply is None:
        return None
    body = reply.body()
    if reply.reason in HINTS:
        body["hint"] = HINTS[reply.reason]
    return body


def _table(rows: List[Dict[str, Any]], now: float) -> str:
    headers = ("KIOSK", "ONLINE", "SEEN", "HEALTHY", "SERVICES", "FAULTY", "ALARMS", "LAST ALARM")
    cells = []
    for r in rows:
        seen = f"{now - r['last_seen']:.0f}s ago" if r["last_seen"] else "-"
        online = {True: "yes", False: "NO", None: "?"}[r["online"]]
        healthy = {True: "yes", False: "NO", None: "?"}[r["healthy"]]
        cells.append(
            [
                printable(r["kiosk_id"], 64),
                online,
                seen,
                healthy,
                printable(r["services"], 16) or "-",
                str(r["devices_faulty"]),
                str(r["alarms"]),
                printable(r["last_alarm"], 40) or "-",
            ]
        )
    return table(headers, cells)


async def _watch(args: argparse.Namespace) -> int:
    async with FleetClient(_identity(args), subscribe_all=True) as fleet:
        deadline = time.monotonic() + args.duration if args.duration else None
        while deadline is None or time.monotonic() < deadline:
            await asyncio.sleep(args.interval)
            rows = [r.as_dict() for r in fleet.view.rows()]
            if args.json:
                line = json.dumps({"at": time.time(), "kiosks": rows}, ensure_ascii=False)
                print(printable_lines(line), flush=True)
            else:
                print(_table(rows, time.time()) + "\n", flush=True)
    return 0


async def _serve(args: argparse.Namespace) -> int:
    # Imported here: only the fleet metrics service needs the exporter.
    from ..fleet import exporter, settings  # noqa: PLC0415

    loaded = settings.load(Path(args.config))
    missing = settings.settings_problems(loaded)
    if missing:
        for problem in missing:
            print(f"govkioskctl fleet: {args.config}: {problem}", file=sys.stderr)
        return EXIT_USAGE
    if args.check:
        print(f"{args.config}: ok")
        return 0
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    service = exporter.Exporter(loaded)
    host, port = await service.start()
    print(f"serving http://{host}:{port}/metrics", flush=True)
    running = asyncio.ensure_future(service.run())
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, running.cancel)
    with contextlib.suppress(asyncio.CancelledError):  # stopped by a signal: a clean exit
        await running
    return 0


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="govkioskctl fleet", description="remote operations for a fleet of kiosks"
    )
    sub = parser.add_subparsers(dest="area", required=True)

    keys = sub.add_parser("keys", help="operator signing keys").add_subparsers(
        dest="action", required=True
    )
    generate = keys.add_parser("generate", help="a new key pair, saved as DIR/KEY_ID.key")
    generate.add_argument("--dir", required=True)
    generate.add_argument(
        "--algorithm",
        choices=OPERATOR_ALGORITHMS,
        default=ED25519,
        help="ed25519 (default) or sm2-sm3 (SM2 with SM3, for national-cryptography sites)",
    )
    generate.add_argument("key_id")
    generate.set_defaults(run=keys_generate)
    export = keys.add_parser("export", help="public keys as [[ops.operators]] tables for kiosks")
    export.add_argument("--dir", required=True)
    export.add_argument("--roles", required=True, help=f"comma-separated: {', '.join(ROLES)}")
    export.add_argument("key_id", nargs="*")
    export.set_defaults(run=keys_export)

    _add_ca(sub)

    for name, help_text in (
        ("send", "sign and send a command, wait for the results"),
        ("watch", "follow the fleet's state"),
    ):
        command = sub.add_parser(name, help=help_text)
        command.add_argument(
            "--broker", default=_env("BROKER"), help="HOST[:PORT] of the site broker"
        )
        command.add_argument("--ca", default=_env("CA", "ca.crt"))
        command.add_argument(
            "--cert", default=_env("CERT"), help="the operator's client certificate"
        )
        command.add_argument("--key", default=_env("KEY"), help="its private key")
        command.add_argument(
            "--sm2-ca",
            default=_env("SM2_CA"),
            help="the site's SM2 signing CA (PEM): check SM2-signed replies against it",
        )
        command.add_argument("--json", action="store_true")
    send = sub.choices["send"]
    send.add_argument(
        "--signing-key", required=True, help="the operator's Ed25519 key (keys generate)"
    )
    send.add_argument("--role", required=True, choices=ROLES)
    send.add_argument("--issuer", default=os.environ.get("USER", "ops"))
    send.add_argument("--kiosk", action="append", required=True, help="repeat for several kiosks")
    send.add_argument(
        "--param", action="append", default=[], help="NAME=VALUE (VALUE as JSON, else text)"
    )
    send.add_argument("--params", help="all parameters as one JSON object")
    send.add_argument(
        "--secret",
        action="append",
        default=[],
        help="NAME=VALUE: a secret parameter (a USB maintenance token), sealed for each kiosk",
    )
    send.add_argument("--timeout", type=float, default=30.0)
    send.add_argument(
        "--idle", action="store_true", help="run only once no citizen is being served"
    )
    send.add_argument(
        "--cmd-id", help="the command's id (one kiosk only), as a second admin cosigned it"
    )
    send.add_argument(
        "--cosign", help="a file with a second admin's cosign (fleet cosign), for config.set"
    )
    send.add_argument("method")
    send.set_defaults(run=lambda a: asyncio.run(_send(a, _send_params(a))))
    _add_cosign(sub)
    watch = sub.choices["watch"]
    watch.add_argument("--interval", type=float, default=5.0)
    watch.add_argument("--duration", type=float, default=0.0, help="stop after this many seconds")
    watch.set_defaults(run=lambda a: asyncio.run(_watch(a)))
    _add_serve(sub)
    return parser.parse_args(argv)


def _add_serve(sub: Any) -> None:
    serve = sub.add_parser("serve", help="serve the fleet's metrics to Prometheus (/metrics)")
    serve.add_argument("--config", default="/etc/govkiosk-fleet/metrics.toml")
    serve.add_argument("--check", action="store_true", help="check the file and exit")
    serve.set_defaults(run=lambda a: asyncio.run(_serve(a)))


def _add_ca(sub: Any) -> None:
    ca = sub.add_parser("ca", help="the site's certificate authority").add_subparsers(
        dest="action", required=True
    )
    init = ca.add_parser("init", help="create the site CA in DIR")
    init.add_argument("--dir", required=True)
    init.add_argument("--name", default="govkiosk site CA")
    init.set_defaults(run=ca_init)
    for kind, what in (
        ("kiosk", "a kiosk (CN = kiosk id)"),
        ("operator", "an operator (CN = ops-<name>)"),
        ("broker", "the broker (host names and IPs)"),
    ):
        issue = ca.add_parser(f"issue-{kind}", help=f"a certificate for {what}")
        issue.add_argument("--dir", required=True)
        issue.add_argument("--out")
        issue.add_argument("--days", type=int, default=825)
        issue.add_argument("names", nargs="+" if kind == "broker" else 1)
        if kind == "kiosk":
            issue.add_argument(
                "--sm2-reply",
                action="store_true",
                help="also an SM2 reply certificate and key, by the site's SM2 signing CA",
            )
        issue.set_defaults(run=lambda a, k=kind: _issue(a, k))


def _add_cosign(sub: Any) -> None:
    second = sub.add_parser(
        "cosign",
        help="as a second admin, sign one config.set that needs two (prints the cosign)",
    )
    second.add_argument("--signing-key", required=True, help="your own admin Ed25519 key")
    second.add_argument("--kiosk", required=True)
    second.add_argument("--cmd-id", required=True, help="agreed with the admin who sends it")
    second.add_argument("--values", required=True, help="the config.set values, as JSON")
    second.set_defaults(run=_cosign)


def main(argv: Sequence[str]) -> int:
    args = parse_args(argv)
    try:
        return int(args.run(args))
    except (GovkioskError, OSError, ValueError) as err:
        print(f"govkioskctl fleet: {err}", file=sys.stderr)
        return EXIT_FAILED
