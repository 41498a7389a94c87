"""The ``[idcard]`` configuration section: how ID card readers are polled."""

from __future__ import annotations

from dataclasses import dataclass

from ...fields import positive, seconds, setting


@dataclass(frozen=True)
class IdCardSettings:
    #: How often to look for a card; the readers' own demos poll about once a second.
    poll_interval: float = seconds(1.0)
    #: How often to ask the SAM module whether it is healthy.
    sam_check_interval: float = seconds(5.0)
    #: How long one request may wait for its reply.
    exchange_timeout: float = seconds(5.0)
    #: Serial speed; the SAM modules speak 115200 8N1.
    baudrate: int = setting(115200, expect="a baud rate > 0", check=positive)
