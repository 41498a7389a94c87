"""``[face]``: face verification (人证核验), docs/face.md.

::

    [face]
    decoder = "vendor"            # "none" | "vendor" | "bmp" | "simulated"
    vendor_library = "/opt/reader/lib/libwlt2bmp.so"
    threshold = 0.50              # score = 1 - distance / 1.1; matched when score >= threshold
    liveness = "binocular"        # RGB + near-IR camera; "challenge": turn the head (blink)
    attempts = 3                  # the session's policy: attempts before staff are called

The simulated decoder reads only the simulator's photos: ``allow_simulated = true``
belongs in demo configurations and nowhere else (it is refused otherwise).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Optional, Tuple

from ..fields import matches, seconds, setting

#: The decoders ``decoder`` names; "none" leaves face verification off.
DECODERS = ("none", "vendor", "bmp", "simulated")
#: The active challenges (liveness without an IR camera).
CHALLENGES = ("blink", "turn_left", "turn_right")


@dataclass(frozen=True)
class FaceSettings:
    # The card's photo ------------------------------------------------------------------
    #: Who decodes the card's photo: "vendor" (the reader vendor's library), "bmp" (the
    #: reader delivers it decoded), "simulated" (demos); "none" turns face verification off.
    decoder: Literal["none", "vendor", "bmp", "simulated"] = "none"
    #: Demo configurations only: lets ``decoder = "simulated"`` through.
    allow_simulated: bool = False
    #: The reader vendor's photo library (a shared object), for ``decoder = "vendor"``.
    vendor_library: str = ""
    #: Its decoding function: ``int unpack(char *wlt_1024, char *out, int flag)``.
    vendor_symbol: str = setting(
        "unpack", expect="a C symbol name", check=matches(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
    )
    #: The ``flag`` argument. 602 is the common SDKs' "decode in memory"; never use the
    #: value that also writes ``zp.bmp`` to disk (§8 d).
    vendor_flag: int = 602
    #: What the library writes: a BMP file image ("bmp") or bare 102×126 pixel rows,
    #: top row first, in "bgr" or "rgb" order.
    vendor_output: Literal["bmp", "bgr", "rgb"] = "bmp"
    #: Bytes the library writes (38,862: a 102×126 24-bit BMP; 38,556: bare rows).
    vendor_output_size: int = setting(
        38862,
        expect="a number of bytes between 1 and 1048576",
        check=lambda v: 0 < v <= 1 << 20,
    )
    #: The return code that means success.
    vendor_success: int = 1
    # The model -------------------------------------------------------------------------
    #: Where dlib's weights are, named as in the face_recognition_models package;
    #: "" = that package's own directory.
    model_dir: str = ""
    # The decision ----------------------------------------------------------------------
    #: How similar the face and the card's photo must be to match: score = 1 - distance / 1.1,
    #: matched when score >= threshold. 0.50 (distance 0.55) is stricter than dlib's usual 0.6
    #: (docs/face.md); raising it refuses more true holders, lowering it accepts more look-alikes.
    threshold: float = setting(
        0.50, expect="a score between 0 and 1 (exclusive)", check=lambda v: 0 < v < 1
    )
    #: How liveness is checked: "binocular" (the colour and near-infrared cameras) or
    #: "challenge" (the citizen turns the head or blinks).
    liveness: Literal["binocular", "challenge"] = "binocular"
    #: What the challenge may ask (one, at random, per attempt): without an IR frame even
    #: in "binocular" mode. "blink" needs dlib's 68-point model, whose training data
    #: excludes commercial use (docs/face.md): not asked unless listed here.
    challenges: Tuple[str, ...] = setting(
        ("turn_left", "turn_right"),
        expect=f"a list of one or more of {', '.join(CHALLENGES)}",
        check=lambda v: bool(v) and all(c in CHALLENGES for c in v),
    )
    #: Attempts the session allows before it offers the fallback (staff, counter).
    attempts: int = setting(
        3, expect="a whole number between 1 and 10", check=lambda v: 1 <= v <= 10
    )
    #: How long a good face must be watched before the decision (micro-motion, IR).
    window_seconds: float = setting(
        0.6, expect="a number of seconds between 0.3 and 5", check=lambda v: 0.3 <= v <= 5
    )
    #: One attempt's limit, from the first frame.
    attempt_seconds: float = seconds(15.0)
    #: A face smaller than this (px high, in a 640-px-wide frame) is asked to come closer.
    min_face: int = setting(
        140, expect="a number of pixels between 80 and 400", check=lambda v: 80 <= v <= 400
    )
    # The worker process ----------------------------------------------------------------
    #: One call to the worker (a frame, the card photo).
    call_timeout: float = seconds(5.0)
    #: Starting the worker, loading the model included.
    start_timeout: float = seconds(60.0)


def consistent(settings: Optional[FaceSettings]) -> bool:
    """The simulated decoder only where allowed; the vendor decoder only with a library."""
    if settings is None:  # a key of the section was wrong: that is reported already
        return True
    if settings.decoder == "simulated" and not settings.allow_simulated:
        return False
    return not (settings.decoder == "vendor" and not settings.vendor_library)


CONSISTENT = (
    'decoder = "simulated" only with allow_simulated = true (demo configurations), '
    'decoder = "vendor" only with vendor_library set'
)
