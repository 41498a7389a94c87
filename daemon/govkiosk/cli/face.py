"""``govkioskctl face compare A B [--json]``: compare the faces of two image files.

For integrators on site: how far apart dlib puts two photos (a decoded card photo and a
camera snapshot, say), the score and the decision at the configured threshold. Runs the
model in this process (no daemon needed); reads the files, writes nothing. An image under
300 px high is taken for a card photo and searched the way the verifier searches one
(enlarged twice first).

Exit status: 0 compared (either decision), 2 a file cannot be read, 3 a face is missing,
4 the model cannot be loaded.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, Dict, List, Optional, Sequence

EXIT_USAGE = 2
EXIT_NO_FACE = 3
EXIT_MODEL = 4
#: Images lower than this are card photos (102×126 as the readers decode them).
CARD_HEIGHT = 300


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    from ..faceverify.settings import FaceSettings  # noqa: PLC0415 - keeps govkioskctl quick

    default = FaceSettings()
    parser = argparse.ArgumentParser(
        prog="govkioskctl face", description="face verification tools for integrators"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    compare = sub.add_parser("compare", help="compare the faces of two image files")
    compare.add_argument("a", help="an image file (JPEG, PNG, BMP …)")
    compare.add_argument("b", help="another image file")
    compare.add_argument("--json", action="store_true", help="print JSON")
    compare.add_argument(
        "--threshold",
        type=float,
        default=default.threshold,
        help=f"score needed for 'same person' (default {default.threshold}, as [face] threshold)",
    )
    compare.add_argument(
        "--model-dir", default="", help="dlib's weights (default: face_recognition_models)"
    )
    return parser.parse_args(list(argv))


def _describe(path: str, found: List[Any]) -> Dict[str, Any]:
    largest = found[0].box if found else None
    return {"path": path, "faces": len(found), "box": list(largest) if largest else None}


def compare(args: argparse.Namespace) -> int:
    import cv2  # noqa: PLC0415
    import numpy as np  # noqa: PLC0415

    from ..faceverify.errors import FaceError  # noqa: PLC0415
    from ..faceverify.model import FaceModel, FoundFace, distance, distance_at, score  # noqa: PLC0415

    images = []
    for path in (args.a, args.b):
        image: Any = cv2.imread(path, cv2.IMREAD_COLOR)  # None when unreadable
        if image is None:
            print(f"govkioskctl face: {path}: not an image file that can be read", file=sys.stderr)
            return EXIT_USAGE
        images.append(np.asarray(image, np.uint8))
    try:
        model = FaceModel(args.model_dir)
    except FaceError as err:
        print(f"govkioskctl face: {err}", file=sys.stderr)
        return EXIT_MODEL
    faces: List[List[FoundFace]] = []
    for image in images:
        if image.shape[0] < CARD_HEIGHT:
            try:
                vector = model.card_embedding(image)
            except FaceError:
                faces.append([])
                continue
            faces.append([FoundFace((0, 0, image.shape[1], image.shape[0]), vector)])
        else:
            faces.append(model.faces_in_image(image))
    report: Dict[str, Any] = {
        "a": _describe(args.a, faces[0]),
        "b": _describe(args.b, faces[1]),
        "threshold": args.threshold,
        "threshold_distance": round(distance_at(args.threshold), 4),
    }
    status = 0
    if faces[0] and faces[1]:
        dist = distance(faces[0][0].embedding, faces[1][0].embedding)
        similarity = score(dist)
        report.update(
            distance=round(dist, 4),
            score=round(similarity, 4),
            matched=similarity >= args.threshold,
        )
    else:
        report.update(distance=None, score=None, matched=None)
        status = EXIT_NO_FACE
    print(json.dumps(report, indent=2) if args.json else _text(report))
    return status


def _side(label: str, side: Dict[str, Any]) -> str:
    if not side["faces"]:
        return f"{label} {side['path']}: no face found"
    x, y, w, h = side["box"]
    more = f" (the largest of {side['faces']} is compared)" if side["faces"] > 1 else ""
    return f"{label} {side['path']}: face {w}×{h} at {x},{y}{more}"


def _text(report: Dict[str, Any]) -> str:
    lines = [_side("A", report["a"]), _side("B", report["b"])]
    if report["matched"] is None:
        lines.append("no comparison: a face is missing")
        return "\n".join(lines)
    lines.append(
        f"distance {report['distance']:.3f}  score {report['score']:.3f}  threshold"
        f" {report['threshold']:.2f} (distance {report['threshold_distance']:.3f})"
    )
    lines.append("decision: " + ("same person" if report["matched"] else "different persons"))
    return "\n".join(lines)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    return compare(args)
