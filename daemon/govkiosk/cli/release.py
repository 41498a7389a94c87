"""``govkioskctl fleet release …``: sign a release, roll it out in waves (docs/updates.md).

    fleet keys generate --dir ~/.govkiosk/release release-2026        # the release key, offline
    fleet release pin --key ~/.govkiosk/release/release-2026.key       # → kiosks' [updates]
    fleet release sign --key …/release-2026.key --version 0.2.0 --min-version 0.1.0 \\
        --out govkiosk-0.2.0.release.json dist/govkiosk_0.2.0_all.deb
    fleet release run --state rollout-0.2.0.json --release govkiosk-0.2.0.release.json \\
        --kiosks-file hall-kiosks.txt --waves 5,25,50,100 --signing-key admin.key …
    fleet release status --state rollout-0.2.0.json
    fleet release resume --state rollout-0.2.0.json --signing-key admin.key …
    fleet release abort --state rollout-0.2.0.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from ..contract.logs import printable_lines
from ..fleet.client import FleetClient, FleetError, Identity
from ..fleet.release import ABORTED, DONE, PAUSED, RUNNING, Rollout, drive, release_body
from ..ops.signing import ED25519, OperatorSigner
from ..updates import manifest

DEFAULT_PORT = 8883
EXIT_PAUSED = 4  #: the rollout paused: a wave's failures passed the threshold


def _env(name: str, default: str = "") -> str:
    return os.environ.get(f"GOVKIOSK_FLEET_{name}", default)


def pin(args: argparse.Namespace) -> int:
    signer = OperatorSigner.load(Path(args.key))
    algorithm = f'algorithm = "{signer.algorithm}"\n' if signer.algorithm != ED25519 else ""
    print(
        "[[updates.release_keys]]\n"
        f'key_id = "{signer.key_id}"\n'
        f'public_key = "{signer.public_b64()}"\n'
        f"{algorithm}"
    )
    return 0


def sign(args: argparse.Namespace) -> int:
    signer = OperatorSigner.load(Path(args.key))
    body = release_body(
        args.version,
        [Path(p) for p in args.packages],
        min_version=args.min_version,
        valid_days=args.valid_days,
        rollback=args.rollback,
        notes=args.notes,
    )
    signed = manifest.sign(body, signer)
    # The kiosks' own checks, here first: a manifest they would refuse is not written.
    manifest.verify(
        signed, [manifest.ReleaseKeyPin(signer.key_id, signer.public_b64(), signer.algorithm)]
    )
    Path(args.out).write_text(json.dumps(signed, ensure_ascii=False, indent=1), encoding="utf-8")
    print(
        f"{args.out}: release {args.version}, {len(args.packages)} package(s), key {signer.key_id}"
    )
    return 0


def _identity(args: argparse.Namespace) -> Identity:
    host, _, port = args.broker.partition(":")
    if not host:
        raise FleetError("--broker (or GOVKIOSK_FLEET_BROKER) is required")
    return Identity(host, int(port or DEFAULT_PORT), Path(args.ca), Path(args.cert), Path(args.key))


def _kiosks(args: argparse.Namespace) -> List[str]:
    kiosks = list(args.kiosk)
    if args.healthy_in:  # e.g. after an abort: the kiosks that did update, for a rollback
        kiosks += Rollout.load(Path(args.healthy_in)).kiosks_in("healthy")
    if args.kiosks_file:
        text = Path(args.kiosks_file).read_text(encoding="utf-8")
        kiosks += [line.strip() for line in text.splitlines() if line.strip() and line[0] != "#"]
    if not kiosks:
        raise FleetError("name the kiosks: --kiosk (repeated) or --kiosks-file")
    return kiosks


async def roll(
    rollout: Rollout, identity: Identity, signer: OperatorSigner, args: argparse.Namespace
) -> Rollout:
    """Drive ``rollout`` over one fleet connection until done, paused or aborted."""
    kiosks = [k for wave in rollout.waves for k in wave.kiosks]
    async with FleetClient(identity) as fleet:
        await fleet.follow_updates()
        await fleet.follow(kiosks, timeout=args.follow_timeout)

        async def offer(targets: List[str]) -> Dict[str, Optional[Tuple[str, str]]]:
            replies = await fleet.run(
                signer,
                targets,
                "update.offer",
                {"release": rollout.release, "force": rollout.force},
                role="admin",
                issuer=args.issuer,
                timeout=args.timeout,
            )
            return {
                k: None if r is None else (r.status.value, r.detail or r.reason)
                for k, r in replies.items()
            }

        return await drive(rollout, offer, fleet.updates)


def _report(rollout: Rollout, as_json: bool) -> int:
    summary = rollout.summary()
    if as_json:
        print(printable_lines(json.dumps(summary, ensure_ascii=False, indent=1)))
    else:
        print(f"release {summary['version']}: {summary['status']}")
        if summary["reason"]:
            print(printable_lines(f"  {summary['reason']}"))
        for wave in summary["waves"]:
            print(
                f"  wave {wave['wave']} ({wave['percent']:g} %): {wave['kiosks']} kiosk(s),"
                f" {wave['healthy']} healthy, {wave['failed_share']:.0%} not"
            )
        for kiosk_id, result in sorted(rollout.results.items()):
            detail = f": {result['detail']}" if result.get("detail") else ""
            print(printable_lines(f"  {kiosk_id}: {result['phase']}{detail}"))
    return {DONE: 0, PAUSED: EXIT_PAUSED, ABORTED: 1}.get(rollout.status, 0)


def run(args: argparse.Namespace) -> int:
    signed = json.loads(Path(args.release).read_text(encoding="utf-8"))
    manifest.load(signed)  # its shape; the kiosks check the signature
    percents = [float(p) for p in args.waves.split(",") if p]
    rollout = Rollout.create(
        Path(args.state),
        signed,
        _kiosks(args),
        percents,
        threshold=args.threshold,
        wave_timeout=args.wave_timeout,
        force=args.force,
    )
    return _go(rollout, args)


def _go(rollout: Rollout, args: argparse.Namespace) -> int:
    signer = OperatorSigner.load(Path(args.signing_key))
    rollout = asyncio.run(roll(rollout, _identity(args), signer, args))
    return _report(rollout, args.json)


def resume(args: argparse.Namespace) -> int:
    rollout = Rollout.load(Path(args.state))
    if rollout.status in (DONE, ABORTED):
        raise FleetError(f"the rollout is {rollout.status}: nothing to resume")
    rollout.status, rollout.reason = RUNNING, ""
    rollout.save()
    return _go(rollout, args)


def status(args: argparse.Namespace) -> int:
    return _report(Rollout.load(Path(args.state)), args.json)


def abort(args: argparse.Namespace) -> int:
    rollout = Rollout.load(Path(args.state))
    rollout.status, rollout.reason = ABORTED, args.reason
    rollout.save()
    return _report(rollout, args.json)


def add_parser(sub: Any) -> None:
    release = sub.add_parser("release", help="sign a release, roll it out in waves")
    actions = release.add_subparsers(dest="action", required=True)
    pinning = actions.add_parser("pin", help="the [[updates.release_keys]] table for kiosks")
    pinning.add_argument("--key", required=True, help="the release key (fleet keys generate)")
    pinning.set_defaults(run=pin)
    signing = actions.add_parser("sign", help="a signed release manifest for package files")
    signing.add_argument("--key", required=True, help="the release key (fleet keys generate)")
    signing.add_argument("--version", required=True)
    signing.add_argument("--min-version", default="0", help="the oldest version it may replace")
    signing.add_argument("--valid-days", type=float, default=30.0)
    signing.add_argument("--rollback", action="store_true", help="may replace a newer version")
    signing.add_argument("--notes", default="")
    signing.add_argument("--out", required=True)
    signing.add_argument("packages", nargs="+")
    signing.set_defaults(run=sign)
    for name, what, handler in (
        ("run", "start a rollout kept in --state", run),
        ("resume", "go on with a paused rollout", resume),
        ("status", "where a rollout stands", status),
        ("abort", "stop a rollout for good", abort),
    ):
        action = actions.add_parser(name, help=what)
        action.add_argument("--state", required=True, help="the rollout's state file")
        action.add_argument("--json", action="store_true")
        action.set_defaults(run=handler)
        if name in ("run", "resume"):
            action.add_argument("--broker", default=_env("BROKER"), help="HOST[:PORT]")
            action.add_argument("--ca", default=_env("CA", "ca.crt"))
            action.add_argument("--cert", default=_env("CERT"), help="an admin's certificate")
            action.add_argument("--key", default=_env("KEY"), help="its private key")
            action.add_argument("--signing-key", required=True, help="an admin's signing key")
            action.add_argument("--issuer", default=os.environ.get("USER", "ops"))
            action.add_argument(
                "--timeout", type=float, default=60.0, help="for each offer's reply"
            )
            action.add_argument("--follow-timeout", type=float, default=10.0)
    actions.choices["abort"].add_argument("--reason", default="aborted by the operator")
    start = actions.choices["run"]
    start.add_argument("--release", required=True, help="the signed release (release sign)")
    start.add_argument("--kiosk", action="append", default=[])
    start.add_argument("--kiosks-file", help="kiosk ids, one a line")
    start.add_argument(
        "--healthy-in",
        metavar="STATE",
        help="the kiosks another rollout left healthy (to roll them back after an abort)",
    )
    start.add_argument("--waves", default="5,25,50,100", help="cumulative percentages")
    start.add_argument(
        "--threshold", type=float, default=0.0, help="pause above this failed share (0 to 1)"
    )
    start.add_argument("--wave-timeout", type=float, default=3600.0, help="seconds per wave")
    start.add_argument("--force", action="store_true", help="install within service hours too")
