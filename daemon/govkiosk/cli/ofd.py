"""``govkioskctl ofd``: look into and render OFD documents (GB/T 33190), without the daemon.

``govkioskctl ofd info FILE [--json]`` lists the pages (size in millimetres), fonts
(embedded or named only), images and signatures (provider, method, time, digest method,
stamp placement and whether every protected file matches; the SM2 seal itself is not
verified here). ``govkioskctl ofd render FILE --out DIR [--dpi N] [--seal PICTURE]``
writes one PNG per page (``page-001.png`` …) with each signature's seal picture (from its
SES seal) at its stamp, as the kiosk shows it; ``--seal`` draws another picture there
instead. Writes nothing but the pages asked for.

Exit status: 0 done; 1 the document cannot be read or rendered, or (``info``) a
signature's protected files do not match; 2 a bad command line or unreadable file.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

from ..contract.logs import printable_lines
from .output import table

EXIT_FAILED = 1
EXIT_USAGE = 2
PROG = "govkioskctl ofd"


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=PROG, description="OFD documents (GB/T 33190)")
    sub = parser.add_subparsers(dest="command", required=True)
    info = sub.add_parser("info", help="pages, fonts, images and signatures of an OFD file")
    info.add_argument("file", type=Path)
    info.add_argument("--json", action="store_true", help="print JSON")
    render = sub.add_parser("render", help="write each page as a PNG")
    render.add_argument("file", type=Path)
    render.add_argument("--out", type=Path, required=True, help="the folder for the pages")
    render.add_argument("--dpi", type=float, default=150.0, help="resolution (default 150)")
    render.add_argument(
        "--seal", type=Path, help="a seal picture (PNG, JPEG …) to draw at each signature's stamp"
    )
    return parser.parse_args(argv)


def _fail(message: str, status: int) -> int:
    print(f"{PROG}: {printable_lines(message)}", file=sys.stderr)
    return status


def _info(document: Any) -> Dict[str, Any]:
    from ..ofd.errors import OfdError  # noqa: PLC0415 - keeps govkioskctl quick
    from ..ofd.signatures import check_signature  # noqa: PLC0415

    signatures: List[Dict[str, Any]] = []
    for signature in document.signatures:
        try:
            check_signature(document, signature)
            digests = "ok"
        except OfdError as err:
            digests = str(err)
        signatures.append(
            {
                "id": signature.id,
                "type": signature.type,
                "provider": signature.provider.name,
                "company": signature.provider.company,
                "method": signature.method,
                "time": signature.date_time,
                "digest": signature.check_method,
                "protected": len(signature.references),
                "stamps": [
                    {
                        "page": s.page_ref,
                        "boundary": [s.boundary.x, s.boundary.y, s.boundary.w, s.boundary.h],
                    }
                    for s in signature.stamp_annots
                ],
                "files": digests,
            }
        )
    return {
        "pages": [
            {
                "index": i + 1,
                "id": p.id,
                "width_mm": document.page_box(p).w,
                "height_mm": document.page_box(p).h,
            }
            for i, p in enumerate(document.pages)
        ],
        "fonts": [
            {"id": f.id, "name": f.name, "family": f.family, "embedded": f.file is not None}
            for f in document.fonts.values()
        ],
        "images": [
            {"id": m.id, "format": m.format, "file": m.file} for m in document.media.values()
        ],
        "annotations": len(document.annotations),
        "signatures": signatures,
    }


def _show(info: Dict[str, Any]) -> str:
    parts = [
        table(
            ("PAGE", "ID", "SIZE (mm)"),
            [
                (p["index"], p["id"], f"{p['width_mm']:g} × {p['height_mm']:g}")
                for p in info["pages"]
            ],
        ),
        table(
            ("FONT", "NAME", "FAMILY", "EMBEDDED"),
            [
                (f["id"], f["name"], f["family"], "yes" if f["embedded"] else "no")
                for f in info["fonts"]
            ],
        ),
    ]
    if info["images"]:
        parts.append(
            table(
                ("IMAGE", "FORMAT", "FILE"),
                [(m["id"], m["format"], m["file"]) for m in info["images"]],
            )
        )
    if info["signatures"]:
        rows = [
            (
                s["id"],
                s["provider"],
                s["method"],
                s["time"],
                s["digest"],
                ", ".join(
                    f"page {t['page']} at {' '.join(f'{v:g}' for v in t['boundary'])}"
                    for t in s["stamps"]
                )
                or "-",
                s["files"],
            )
            for s in info["signatures"]
        ]
        parts.append(
            table(("SIGNATURE", "PROVIDER", "METHOD", "TIME", "DIGEST", "STAMP", "FILES"), rows)
        )
    else:
        parts.append("no signatures")
    return "\n\n".join(parts)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        data = args.file.read_bytes()
    except OSError as err:
        return _fail(f"cannot read {args.file}: {err.strerror or err}", EXIT_USAGE)
    from ..ofd.errors import OfdError  # noqa: PLC0415 - keeps govkioskctl quick
    from ..ofd.model import read_ofd  # noqa: PLC0415

    try:
        document = read_ofd(data)
    except OfdError as err:
        return _fail(f"{args.file}: {err}", EXIT_FAILED)
    if args.command == "info":
        info = _info(document)
        shown = json.dumps(info, ensure_ascii=False, indent=2) if args.json else _show(info)
        print(printable_lines(shown))
        return EXIT_FAILED if any(s["files"] != "ok" for s in info["signatures"]) else 0
    return _render(document, args)


def _render(document: Any, args: argparse.Namespace) -> int:
    from ..ofd.errors import OfdError  # noqa: PLC0415
    from ..ofd.render import (  # noqa: PLC0415 - OpenCV and Pillow load only to render
        MAX_DPI,
        MIN_DPI,
        PageRenderer,
        StampPicture,
        encode_png,
        stamps_for,
    )

    if not MIN_DPI <= args.dpi <= MAX_DPI:
        return _fail(f"--dpi must be between {MIN_DPI} and {MAX_DPI}", EXIT_USAGE)
    stamps: List[StampPicture] = []
    if args.seal is not None:
        try:
            picture = args.seal.read_bytes()
        except OSError as err:
            return _fail(f"cannot read {args.seal}: {err.strerror or err}", EXIT_USAGE)
        for signature in document.signatures:
            stamps.extend(stamps_for(signature.stamp_annots, picture))
    else:
        from ..security.ofdseal import stamps as own_stamps  # noqa: PLC0415

        stamps = own_stamps(document)
    try:
        args.out.mkdir(parents=True, exist_ok=True)
        renderer = PageRenderer(document)
        for index in range(len(document.pages)):
            page = renderer.render(index, args.dpi, stamps)
            path = args.out / f"page-{index + 1:03d}.png"
            path.write_bytes(encode_png(page.image))
            note = f" (not drawn: {'; '.join(page.skipped)})" if page.skipped else ""
            print(printable_lines(f"{path}  {page.image.shape[1]}×{page.image.shape[0]}{note}"))
    except OfdError as err:
        return _fail(str(err), EXIT_FAILED)
    except OSError as err:
        return _fail(f"cannot write to {args.out}: {err.strerror or err}", EXIT_FAILED)
    return 0
