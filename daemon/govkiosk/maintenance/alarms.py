"""The recent alarms the maintenance screen lists: the newest few, in memory only.

Alarms never carry personal data (``bus.Alarm``), so they may be shown to an operator.
"""

from __future__ import annotations

import collections
import time
from dataclasses import dataclass
from typing import Callable, Deque, List

from ..bus import Alarm, EventBus


@dataclass(frozen=True)
class AlarmRecord:
    time: float  #: seconds since the epoch
    source: str
    code: str
    severity: str
    message: str


class RecentAlarms:
    def __init__(self, bus: EventBus, kept: int, clock: Callable[[], float] = time.time) -> None:
        self._records: Deque[AlarmRecord] = collections.deque(maxlen=kept)
        self._clock = clock
        self._unsubscribe = bus.subscribe(Alarm, self._on_alarm)

    def close(self) -> None:
        self._unsubscribe()

    def _on_alarm(self, alarm: Alarm) -> None:
        self._records.append(
            AlarmRecord(
                self._clock(), alarm.source, alarm.code, alarm.severity.value, alarm.message
            )
        )

    def newest_first(self) -> List[AlarmRecord]:
        return list(reversed(self._records))
