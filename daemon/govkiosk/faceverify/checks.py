"""What keeps face verification from working on this machine (``--check-config``).

The configuration's own checks (types, ranges, the simulated decoder only with
``allow_simulated``) run when it is loaded; these look at the machine: the vendor
library and its symbol, dlib, the weights files. Each problem names the key and file.
"""

from __future__ import annotations

from typing import List

from .model import model_problems
from .photo import decoder_for
from .settings import FaceSettings


def problems(settings: FaceSettings) -> List[str]:
    """Every problem found, each as ``face.<key>: <file>: <what>``; empty when ready."""
    if settings.decoder == "none":
        return []
    found = decoder_for(settings).problems(settings, demo=settings.allow_simulated)
    found += model_problems(settings.model_dir, needs_landmarks68="blink" in settings.challenges)
    return found
