"""Who this kiosk is: the ``[kiosk]`` section.

The id is fixed for the life of the daemon (it is the CN of the kiosk's ops
certificate and names it in every ops topic and telemetry record): features are handed
it once, as a string. Name, region and language may change on a reload; features that
show them are handed a getter.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from .fields import matches, required, setting


@dataclass(frozen=True)
class KioskSection:
    """Who this kiosk is. ``id`` is also the CN of its ops certificate."""

    id: str = required(
        expect="a kiosk id of 1-64 lower-case letters, digits or '-'",
        check=matches(r"[a-z0-9][a-z0-9-]{0,63}"),
    )
    name: str = "政务服务一体机"
    region: str = setting(
        "230000", expect="a six-digit administrative division code", check=matches(r"\d{6}")
    )
    language: Literal["zh_CN", "en"] = "zh_CN"
