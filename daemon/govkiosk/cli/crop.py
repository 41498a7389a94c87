"""``govkioskctl camera crop IMAGE --out FILE``: a photo of a page on a desk, as a scan.

Finds the page (:mod:`govkiosk.docscan.page`), straightens, deskews and whitens it
(:mod:`govkiosk.docscan.rectify`) and writes it as the output's extension says (``.pdf``,
``.jpg``/``.jpeg``, ``.png``); prints the page's corners in the photo (``--json``: corners,
size, output). Works offline, without the daemon. Exit 1 when the photo cannot be read,
no page is found in it or the output cannot be written; 2 for a bad command line.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Dict, List

from ..docscan.settings import PAPERS, DocScanSettings

EXIT_FAILED = 1
EXIT_USAGE = 2
FORMATS: Dict[str, str] = {".pdf": "pdf", ".jpg": "jpeg", ".jpeg": "jpeg", ".png": "png"}
PROG = "govkioskctl camera crop"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The crop command's arguments, for the ``camera`` command's ``crop`` sub-parser."""
    defaults = DocScanSettings()
    parser.add_argument("image", type=Path, help="a photo of a page (JPEG, PNG, BMP, TIFF …)")
    parser.add_argument(
        "--out",
        type=Path,
        required=True,
        help="the page's file; its extension picks the format: .pdf, .jpg, .jpeg or .png",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        dest="crop_json",
        help="print corners, size and output as JSON",
    )
    parser.add_argument(
        "--paper",
        choices=sorted(PAPERS),
        default=defaults.paper,
        help=f"the page's paper size, for its aspect (default {defaults.paper})",
    )
    parser.add_argument(
        "--width",
        type=int,
        default=defaults.width,
        help=f"pixels across the page's short side (default {defaults.width} ≈ 150 dpi on A4)",
    )
    parser.add_argument("--grey", action="store_true", help="a grey page instead of colour")


def add_parser(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:  # type: ignore[type-arg]
    """``crop`` under the ``camera`` command."""
    parser: argparse.ArgumentParser = commands.add_parser(
        "crop", help="find the page in a photo and write it straightened and whitened"
    )
    add_arguments(parser)
    return parser


def run(args: argparse.Namespace) -> int:
    """Do the crop the parsed arguments describe; the exit status."""
    fmt = FORMATS.get(args.out.suffix.lower())
    if fmt is None:
        return _fail(f"--out must end in {', '.join(FORMATS)}: {args.out}", EXIT_USAGE)
    if not 600 <= args.width <= 5000:
        return _fail(f"--width must be between 600 and 5000 pixels, got {args.width}", EXIT_USAGE)
    # OpenCV is loaded only here: the other govkioskctl commands start without it.
    import cv2  # noqa: PLC0415 - heavy import
    import numpy as np  # noqa: PLC0415

    from ..docscan.errors import DocScanError  # noqa: PLC0415
    from ..docscan.page import find_page  # noqa: PLC0415 - imports OpenCV
    from ..docscan.rectify import correct, encode  # noqa: PLC0415 - imports OpenCV

    try:
        data = args.image.read_bytes()
    except OSError as err:
        return _fail(f"cannot read {args.image}: {err.strerror or err}")
    frame = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR) if data else None
    if frame is None:
        return _fail(f"cannot read {args.image}: not an image this tool can decode")
    try:
        quad = find_page(frame)
        if quad is None:
            return _fail(f"no page found in {args.image}")
        settings = DocScanSettings()
        page = correct(frame, quad, paper=args.paper, width=args.width, colour=not args.grey)
        encoded = encode(page, fmt, quality=settings.jpeg_quality, paper=args.paper)
    except DocScanError as err:
        return _fail(str(err))
    try:
        args.out.write_bytes(encoded)
    except OSError as err:
        return _fail(f"cannot write {args.out}: {err.strerror or err}")
    height, width = page.shape[:2]
    corners: Dict[str, List[float]] = dict(zip(("tl", "tr", "br", "bl"), quad.to_json()))
    if args.crop_json:
        print(
            json.dumps(
                {
                    "corners": corners,
                    "size": [width, height],
                    "output": str(args.out),
                    "format": fmt,
                },
                ensure_ascii=False,
            )
        )
    else:
        print("page corners in the photo (x, y):")
        for name, (x, y) in corners.items():
            print(f"  {name}  {x:8.1f} {y:8.1f}")
        print(f"written: {args.out} ({fmt}, {width}×{height} px)")
    return 0


def _fail(message: str, code: int = EXIT_FAILED) -> int:
    print(f"{PROG}: {message}", file=sys.stderr)
    return code
