"""The fleet as numbers: what kiosks publish, folded into a bounded model, rendered for
Prometheus.

:class:`FleetMetrics` is pure (fed ``(topic, payload, now)``, read with
:meth:`FleetMetrics.families`); :mod:`.exporter` feeds it from the broker and serves it
over HTTP. Memory and label cardinality are bounded whatever kiosks send:

- kiosk ids: at most ``limits.kiosks_max`` followed; a ``kiosk`` label only while the
  fleet has at most ``limits.kiosk_labels_max`` kiosks, and then only on a few gauges per
  kiosk (up, healthy, alarms by severity, paper by kind, availability by window, version);
- item codes, alarm codes and versions: folded (:class:`~.exposition.Folder`) into at most
  their cap, the rest into ``other``; outcomes, levels, severities, paper kinds and windows
  come from fixed sets;
- per kiosk: at most :data:`ACTIVE_ALARMS_MAX` active alarms and :data:`ALARM_IDS_KEPT`
  alarm ids (an alarm delivered twice counts once); sessions and 好差评 as two small arrays.

Nothing personal reaches a topic (§8 d), and this model keeps only counts and states.
"""

from __future__ import annotations

import json
import math
from array import array
from collections import Counter, OrderedDict, deque
from dataclasses import dataclass, field
from typing import Any, Deque, Dict, List, Optional, Tuple

from .exposition import OTHER, Family, Folder, clean
from .settings import FleetServeSettings

SEVERITIES = ("info", "warning", "critical")
ACTIVE_SEVERITIES = ("warning", "critical")
#: Session outcomes as ``usage`` counts them (docs/ops.md); others are ``other``.
OUTCOMES = ("done", "failed", "cancelled", "expired", "walked_away", "home")
LEVELS = ("1", "2", "3", "4", "5")  #: 好差评: 5 非常满意 … 1 非常不满意
PAPER_KINDS = ("receipt", "a4")  #: ``upkeep.consumables`` names
WINDOWS = ("24h", "30d")  #: ``upkeep.availability`` spans
AVAILABILITY_BELOW = (99.0, 95.0, 90.0)
ACTIVE_ALARMS_MAX = 32
ALARM_IDS_KEPT = 64
KIOSK_ID_MAX = 128
#: ``evt/…`` kinds counted by name (docs/ops.md, "Topics"); others are ``other``.
EVENTS = ("alarm", "command_rejected", "acceptance")
REJECT_REASONS = ("malformed", "kiosk_id", "kiosks_max", "oversized", "alarm")


@dataclass
class KioskModel:
    """What one kiosk said last, reduced to counts and states."""

    online: bool = False
    version: str = ""  #: a folded label value
    healthy: bool = False
    telemetry_seen: float = 0.0  #: our clock when its newest telemetry arrived
    telemetry_at: float = 0.0  #: the kiosk's ``at`` of that telemetry
    #: (source, code) → (severity, folded code, our clock when raised), oldest first.
    alarms: OrderedDict[Tuple[str, str], Tuple[str, str, float]] = field(
        default_factory=OrderedDict
    )
    alarm_ids: Deque[str] = field(default_factory=lambda: deque(maxlen=ALARM_IDS_KEPT))
    paper: Dict[str, Tuple[float, bool]] = field(default_factory=dict)  #: kind → (%, low)
    availability: Dict[str, float] = field(default_factory=dict)  #: window → %
    #: Sessions and 好差评 as series indexes and counts (see FleetMetrics._series).
    usage_keys: array[int] = field(default_factory=lambda: array("l"))
    usage_values: array[int] = field(default_factory=lambda: array("q"))


class FleetMetrics:
    def __init__(self, settings: FleetServeSettings) -> None:
        self.settings = settings
        limits = settings.limits
        self.kiosks: Dict[str, KioskModel] = {}
        self.items = Folder(limits.items_max, limits.label_length_max, limits.items)
        self.codes = Folder(limits.alarm_codes_max, limits.label_length_max)
        self.versions = Folder(limits.versions_max, limits.label_length_max)
        self.messages = 0
        self.rejected: Counter[str] = Counter()
        self.alarms_total: Counter[str] = Counter()
        self.events: Counter[str] = Counter()
        #: (kind, item, outcome or level) → index into _usage; bounded by the caps.
        self._series: Dict[Tuple[str, str, str], int] = {}
        self._usage: List[int] = []
        #: (our clock, online, known) samples for the online ratio over the window.
        self._samples: Deque[Tuple[float, int, int]] = deque(
            maxlen=max(1, int(settings.model.uptime_window / settings.model.uptime_sample) + 1)
        )
        self.broker_connected = False
        self.last_render_seconds = 0.0

    # Feeding ---------------------------------------------------------------------------
    def handle(self, topic: str, payload: bytes, now: float) -> bool:
        """Take one message; ``False`` if it was not used (counted in ``rejected``)."""
        parts = topic.split("/")
        if len(parts) < 4 or parts[0] != "kiosk" or parts[1] != "v1":
            return self._reject("malformed")
        kiosk_id = parts[2]
        if not _valid_id(kiosk_id):
            return self._reject("kiosk_id")
        if len(payload) > self.settings.limits.payload_max:
            return self._reject("oversized")
        self.messages += 1
        kind = parts[3]
        if kind == "state" and len(parts) == 4 and not payload:
            self._forget(kiosk_id)  # its retained state was cleared: decommissioned
            return True
        try:
            document = json.loads(payload.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return self._reject("malformed")
        if not isinstance(document, dict):
            return self._reject("malformed")
        kiosk = self.kiosks.get(kiosk_id)
        if kiosk is None:
            if len(self.kiosks) >= self.settings.limits.kiosks_max:
                return self._reject("kiosks_max")
            kiosk = self.kiosks[kiosk_id] = KioskModel()
        try:
            return self._dispatch(parts[3:], kiosk, document, now)
        except (AttributeError, TypeError, ValueError, OverflowError):
            return self._reject("malformed")

    def _dispatch(
        self, kind: List[str], kiosk: KioskModel, document: Dict[str, Any], now: float
    ) -> bool:
        if kind == ["state"]:
            self._state(kiosk, document)
        elif kind == ["telemetry"]:
            self._telemetry(kiosk, document, now)
        elif len(kind) == 2 and kind[0] == "evt":
            self.events[kind[1] if kind[1] in EVENTS else OTHER] += 1
            if kind[1] == "alarm":
                return self._take_alarm(kiosk, document, now)
        return True

    def _reject(self, reason: str) -> bool:
        self.rejected[reason] += 1
        return False

    def _forget(self, kiosk_id: str) -> None:
        kiosk = self.kiosks.pop(kiosk_id, None)
        if kiosk is not None:
            self._set_usage(kiosk, array("l"), array("q"))

    def _state(self, kiosk: KioskModel, document: Dict[str, Any]) -> None:
        kiosk.online = document.get("online") is True
        version = document.get("version")
        if isinstance(version, str):
            kiosk.version = self.versions(version)

    def _telemetry(self, kiosk: KioskModel, document: Dict[str, Any], now: float) -> None:
        at = document.get("at")
        if not isinstance(at, (int, float)) or isinstance(at, bool):
            raise TypeError("telemetry without at")
        if at < kiosk.telemetry_at:
            return  # an older report delivered late (the kiosk's outbox): nothing new
        kiosk.telemetry_at = float(at)
        kiosk.telemetry_seen = now
        kiosk.healthy = document.get("healthy") is True
        upkeep = document.get("upkeep")
        if isinstance(upkeep, dict):
            self._upkeep(kiosk, upkeep)
        usage = document.get("usage")
        if isinstance(usage, dict) and isinstance(usage.get("items"), dict):
            self._usage_of(kiosk, usage["items"])

    def _upkeep(self, kiosk: KioskModel, upkeep: Dict[str, Any]) -> None:
        paper: Dict[str, Tuple[float, bool]] = {}
        for level in upkeep.get("consumables") or []:
            if not isinstance(level, dict) or level.get("name") not in PAPER_KINDS:
                continue
            percent = _finite(level.get("remaining_percent"))
            if percent is not None:
                paper[level["name"]] = (max(0.0, min(100.0, percent)), level.get("low") is True)
        kiosk.paper = paper
        availability: Dict[str, float] = {}
        spans = upkeep.get("availability")
        if isinstance(spans, dict):
            for window in WINDOWS:
                percent = _finite(spans.get(window))
                if percent is not None:
                    availability[window] = max(0.0, min(100.0, percent))
        kiosk.availability = availability

    def _usage_of(self, kiosk: KioskModel, items: Dict[str, Any]) -> None:
        counts: Dict[int, int] = {}
        for code, figures in items.items():
            if not isinstance(figures, dict):
                continue
            item = self.items(code)
            for kind, keys in (("sessions", OUTCOMES), ("evaluations", LEVELS)):
                table = figures.get(kind)
                if not isinstance(table, dict):
                    continue
                for key, count in table.items():
                    if not isinstance(count, int) or isinstance(count, bool) or count < 0:
                        continue
                    index = self._index(kind, item, key if key in keys else OTHER)
                    counts[index] = counts.get(index, 0) + min(count, 2**53)
        ordered = sorted(counts)
        self._set_usage(kiosk, array("l", ordered), array("q", (counts[i] for i in ordered)))

    def _index(self, kind: str, item: str, key: str) -> int:
        series = (kind, item, key)
        index = self._series.get(series)
        if index is None:
            index = self._series[series] = len(self._usage)
            self._usage.append(0)
        return index

    def _set_usage(self, kiosk: KioskModel, keys: array[int], values: array[int]) -> None:
        for index, value in zip(kiosk.usage_keys, kiosk.usage_values):
            self._usage[index] -= value
        for index, value in zip(keys, values):
            self._usage[index] += value
        kiosk.usage_keys, kiosk.usage_values = keys, values

    def _take_alarm(self, kiosk: KioskModel, document: Dict[str, Any], now: float) -> bool:
        severity = document.get("severity")
        if severity not in SEVERITIES:
            return self._reject("alarm")
        alarm_id = document.get("id")
        if isinstance(alarm_id, str) and alarm_id:
            if alarm_id in kiosk.alarm_ids:
                return True  # delivered again (at least once): counted already
            kiosk.alarm_ids.append(alarm_id[:64])
        self.alarms_total[severity] += 1
        length = self.settings.limits.label_length_max
        source = clean(document.get("source"), length)
        if severity == "info":  # a condition ended: its source's alarms are over
            for key in [k for k in kiosk.alarms if k[0] == source]:
                del kiosk.alarms[key]
            return True
        code = clean(document.get("code"), length)
        key = (source, code)
        kiosk.alarms.pop(key, None)
        kiosk.alarms[key] = (severity, self.codes(code), now)
        while len(kiosk.alarms) > ACTIVE_ALARMS_MAX:
            kiosk.alarms.popitem(last=False)
        return True

    def sample(self, now: float) -> None:
        """One point of the online ratio (the exporter calls it every ``uptime_sample``)."""
        online = sum(1 for k in self.kiosks.values() if k.online)
        self._samples.append((now, online, len(self.kiosks)))

    # Reading -----------------------------------------------------------------------------
    def families(self, now: float) -> List[Family]:
        """Every metric as it stands at ``now`` (our clock); alarms past their TTL expire."""
        out = Families()
        per_kiosk = len(self.kiosks) <= self.settings.limits.kiosk_labels_max
        for severity in ACTIVE_SEVERITIES:
            out["govkiosk_fleet_alarms_active"].set(0, severity=severity)
            out["govkiosk_fleet_kiosks_alarmed"].set(0, severity=severity)
        for severity in SEVERITIES:
            out["govkiosk_fleet_alarms_received_total"].set(
                self.alarms_total[severity], severity=severity
            )
        for kind in PAPER_KINDS:
            out["govkiosk_fleet_paper_low_kiosks"].set(0, kind=kind)
        for event in (*EVENTS, OTHER):
            out["govkiosk_fleet_events_received_total"].set(self.events[event], event=event)
        tally = _Tally()
        for kiosk_id, kiosk in self.kiosks.items():
            self._kiosk(out, tally, kiosk_id if per_kiosk else "", kiosk, now)
        tally.emit(out, len(self.kiosks))
        self._ratio(out, now)
        for (kind, item, key), index in self._series.items():
            if kind == "sessions":
                out["govkiosk_fleet_item_sessions"].set(self._usage[index], item=item, outcome=key)
            else:
                out["govkiosk_fleet_item_evaluations"].set(self._usage[index], item=item, level=key)
        self._own(out, per_kiosk)
        return [f for f in out.values() if per_kiosk or not f.name.startswith("govkiosk_kiosk_")]

    def _kiosk(
        self, out: Families, tally: _Tally, kiosk_id: str, kiosk: KioskModel, now: float
    ) -> None:
        """One kiosk's share of the fleet's figures, and its own series if ``kiosk_id``."""
        model = self.settings.model
        healthy = kiosk.online and kiosk.healthy and now - kiosk.telemetry_seen <= model.stale_after
        tally.online += kiosk.online
        tally.healthy += healthy
        tally.versions[kiosk.version or "unknown"] += 1
        expired_before = now - model.alarm_ttl
        for key in [k for k, a in kiosk.alarms.items() if a[2] < expired_before]:
            del kiosk.alarms[key]
        severities: Counter[str] = Counter()
        for severity, code, _raised in kiosk.alarms.values():
            severities[severity] += 1
            out["govkiosk_fleet_alarms_active_by_code"].add(1, code=code, severity=severity)
        for severity, count in severities.items():
            out["govkiosk_fleet_alarms_active"].add(count, severity=severity)
            out["govkiosk_fleet_kiosks_alarmed"].add(1, severity=severity)
        for kind, (percent, low) in kiosk.paper.items():
            out["govkiosk_fleet_paper_low_kiosks"].add(int(low), kind=kind)
            tally.lowest[kind] = min(tally.lowest.get(kind, 100.0), percent)
        for window, percent in kiosk.availability.items():
            tally.availability[window].append(percent)
        if not kiosk_id:
            return
        out["govkiosk_kiosk_up"].set(int(kiosk.online), kiosk=kiosk_id)
        out["govkiosk_kiosk_healthy"].set(int(healthy), kiosk=kiosk_id)
        for severity in ACTIVE_SEVERITIES:
            out["govkiosk_kiosk_alarms_active"].set(
                severities[severity], kiosk=kiosk_id, severity=severity
            )
        for kind, (percent, _low) in kiosk.paper.items():
            out["govkiosk_kiosk_paper_remaining_percent"].set(percent, kiosk=kiosk_id, kind=kind)
        for window, percent in kiosk.availability.items():
            out["govkiosk_kiosk_availability_percent"].set(percent, kiosk=kiosk_id, window=window)
        out["govkiosk_kiosk_info"].set(1, kiosk=kiosk_id, version=kiosk.version or "unknown")

    def _ratio(self, out: Families, now: float) -> None:
        window = self.settings.model.uptime_window
        samples = [s for s in self._samples if s[0] >= now - window]
        total = sum(s[2] for s in samples)
        if total:
            out["govkiosk_fleet_online_ratio"].set(sum(s[1] for s in samples) / total)
            out["govkiosk_fleet_online_ratio_window_seconds"].set(now - samples[0][0])

    def _own(self, out: Families, per_kiosk: bool) -> None:
        out["govkiosk_fleet_exporter_messages_total"].set(self.messages)
        for reason in REJECT_REASONS:
            out["govkiosk_fleet_exporter_rejected_total"].set(self.rejected[reason], reason=reason)
        folded = out["govkiosk_fleet_exporter_folded_total"]
        folded.set(self.items.folded, label="item")
        folded.set(self.codes.folded, label="code")
        folded.set(self.versions.folded, label="version")
        out["govkiosk_fleet_exporter_kiosk_labels"].set(int(per_kiosk))
        out["govkiosk_fleet_exporter_broker_connected"].set(int(self.broker_connected))
        out["govkiosk_fleet_exporter_render_seconds"].set(round(self.last_render_seconds, 6))


#: Every metric served: name → (type, help). docs/fleet-metrics.md is the reference.
METRICS: Dict[str, Tuple[str, str]] = {
    "govkiosk_fleet_kiosks": ("gauge", "Kiosks followed (seen at least once)."),
    "govkiosk_fleet_kiosks_online": ("gauge", "Kiosks whose retained state is online."),
    "govkiosk_fleet_kiosks_healthy": (
        "gauge",
        "Kiosks online whose last telemetry, recent enough, says every service runs.",
    ),
    "govkiosk_fleet_alarms_active": ("gauge", "Active alarms by severity, fleet-wide."),
    "govkiosk_fleet_alarms_active_by_code": (
        "gauge",
        "Active alarms by code (codes past the cap: other) and severity.",
    ),
    "govkiosk_fleet_kiosks_alarmed": (
        "gauge",
        "Kiosks with at least one active alarm of the severity.",
    ),
    "govkiosk_fleet_alarms_received_total": (
        "counter",
        "Alarms received since the service started (each alarm id once).",
    ),
    "govkiosk_fleet_events_received_total": (
        "counter",
        "Events (evt/...) received by kind, redeliveries included.",
    ),
    "govkiosk_fleet_kiosks_by_version": ("gauge", "Kiosks by govkiosk version (capped)."),
    "govkiosk_fleet_paper_low_kiosks": (
        "gauge",
        "Kiosks whose paper of the kind is below their warning level.",
    ),
    "govkiosk_fleet_paper_remaining_percent_min": (
        "gauge",
        "The lowest predicted paper level of the kind across kiosks, in percent.",
    ),
    "govkiosk_fleet_availability_percent_avg": (
        "gauge",
        "Mean of the kiosks' own availability (upkeep) over the window, in percent.",
    ),
    "govkiosk_fleet_kiosks_availability_below": (
        "gauge",
        "Kiosks whose own availability over the window is below the threshold (percent).",
    ),
    "govkiosk_fleet_online_ratio": (
        "gauge",
        "Share of kiosks online, averaged over the samples of the service's window.",
    ),
    "govkiosk_fleet_online_ratio_window_seconds": (
        "gauge",
        "How far back the online ratio's samples reach.",
    ),
    "govkiosk_fleet_item_sessions": (
        "gauge",
        "Sessions by item and outcome over the days the kiosks keep, summed over kiosks.",
    ),
    "govkiosk_fleet_item_evaluations": (
        "gauge",
        "好差评 evaluations by item and level (5 best) over the days kept, summed over kiosks.",
    ),
    "govkiosk_kiosk_up": ("gauge", "1 if the kiosk's retained state is online."),
    "govkiosk_kiosk_healthy": ("gauge", "1 if the kiosk is healthy (as the fleet gauge)."),
    "govkiosk_kiosk_alarms_active": ("gauge", "The kiosk's active alarms by severity."),
    "govkiosk_kiosk_paper_remaining_percent": (
        "gauge",
        "The kiosk's predicted paper level of the kind, in percent.",
    ),
    "govkiosk_kiosk_availability_percent": (
        "gauge",
        "The kiosk's own availability over the window, in percent.",
    ),
    "govkiosk_kiosk_info": ("gauge", "Always 1; the kiosk's govkiosk version as a label."),
    "govkiosk_fleet_exporter_messages_total": ("counter", "Messages taken from the broker."),
    "govkiosk_fleet_exporter_rejected_total": ("counter", "Messages not used, by reason."),
    "govkiosk_fleet_exporter_folded_total": (
        "counter",
        "Label values folded into other because their cap was reached.",
    ),
    "govkiosk_fleet_exporter_kiosk_labels": (
        "gauge",
        "1 while per-kiosk series are served (the fleet is within limits.kiosk_labels_max).",
    ),
    "govkiosk_fleet_exporter_broker_connected": ("gauge", "1 while subscribed to the broker."),
    "govkiosk_fleet_exporter_render_seconds": (
        "gauge",
        "Time the previous scrape took to build its answer.",
    ),
}


class Families(Dict[str, Family]):
    """One :class:`Family` per entry of :data:`METRICS`, in that order."""

    def __init__(self) -> None:
        super().__init__((name, Family(name, kind, text)) for name, (kind, text) in METRICS.items())


class _Tally:
    """Fleet-wide figures gathered while going through the kiosks once."""

    def __init__(self) -> None:
        self.online = 0
        self.healthy = 0
        self.versions: Counter[str] = Counter()
        self.lowest: Dict[str, float] = {}
        self.availability: Dict[str, List[float]] = {w: [] for w in WINDOWS}

    def emit(self, out: Families, known: int) -> None:
        out["govkiosk_fleet_kiosks"].set(known)
        out["govkiosk_fleet_kiosks_online"].set(self.online)
        out["govkiosk_fleet_kiosks_healthy"].set(self.healthy)
        for version, count in self.versions.items():
            out["govkiosk_fleet_kiosks_by_version"].set(count, version=version)
        for kind, percent in self.lowest.items():
            out["govkiosk_fleet_paper_remaining_percent_min"].set(percent, kind=kind)
        for window, values in self.availability.items():
            if values:
                out["govkiosk_fleet_availability_percent_avg"].set(
                    sum(values) / len(values), window=window
                )
            for threshold in AVAILABILITY_BELOW:
                out["govkiosk_fleet_kiosks_availability_below"].set(
                    sum(1 for v in values if v < threshold), window=window, below=f"{threshold:g}"
                )


def _finite(value: Any) -> Optional[float]:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _valid_id(kiosk_id: str) -> bool:
    """A kiosk id as a label: bounded and printable (the ACL already ties it to a CN)."""
    if not kiosk_id or len(kiosk_id) > KIOSK_ID_MAX:
        return False
    return clean(kiosk_id, KIOSK_ID_MAX) == kiosk_id
