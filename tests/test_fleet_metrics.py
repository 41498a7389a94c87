"""The fleet metrics model and its exposition: numbers right, label cardinality bounded,
hostile strings escaped — every scrape read back with the official text-format parser."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from govkiosk.fleet.exporter import HttpRequestError, parse_request
from govkiosk.fleet.exposition import OTHER, clean, render
from govkiosk.fleet.metrics import FleetMetrics
from govkiosk.fleet.settings import FleetServeSettings, Limits, ModelSettings, load
from govkiosk.tables import ConfigError
from harness.fleetdocs import alarm, names, parse, state, telemetry, value

NOW = 1000.0


def metrics(**limits: object) -> FleetMetrics:
    return FleetMetrics(FleetServeSettings(limits=Limits(**limits)))  # type: ignore[arg-type]


def scrape(model: FleetMetrics, now: float = NOW) -> dict:  # type: ignore[type-arg]
    return parse(render(model.families(now)).decode("utf-8"))


def feed(model: FleetMetrics, topic: str, payload: bytes, now: float = NOW) -> None:
    assert model.handle(topic, payload, now), topic


ITEMS_A = {
    "id_card_print": {
        "sessions": {"done": 41, "cancelled": 3, "walked_away": 1},
        "evaluations": {"5": 30, "2": 1},
        "reasons": {"too_slow": 1},
    }
}
ITEMS_B = {
    "id_card_print": {"sessions": {"done": 9}, "evaluations": {"5": 2}},
    "social_security_print": {"sessions": {"failed": 2}, "evaluations": {"1": 1}},
}


def test_online_healthy_versions_and_usage_add_up_across_kiosks() -> None:
    model = metrics()
    feed(model, "kiosk/v1/k1/state", state("k1", version="1.4.0"))
    feed(model, "kiosk/v1/k2/state", state("k2", version="1.5.0"))
    feed(model, "kiosk/v1/k3/state", state("k3", online=False))
    feed(model, "kiosk/v1/k1/telemetry", telemetry("k1", 10.0, items=ITEMS_A))
    feed(model, "kiosk/v1/k2/telemetry", telemetry("k2", 10.0, healthy=False, items=ITEMS_B))
    series = scrape(model)
    assert value(series, "govkiosk_fleet_kiosks") == 3
    assert value(series, "govkiosk_fleet_kiosks_online") == 2
    assert value(series, "govkiosk_fleet_kiosks_healthy") == 1
    assert value(series, "govkiosk_fleet_kiosks_by_version", version="1.4.0") == 2
    assert value(series, "govkiosk_fleet_kiosks_by_version", version="1.5.0") == 1
    sessions = "govkiosk_fleet_item_sessions"
    assert value(series, sessions, item="id_card_print", outcome="done") == 50
    assert value(series, sessions, item="id_card_print", outcome="walked_away") == 1
    assert value(series, sessions, item="social_security_print", outcome="failed") == 2
    evaluations = "govkiosk_fleet_item_evaluations"
    assert value(series, evaluations, item="id_card_print", level="5") == 32
    assert value(series, evaluations, item="social_security_print", level="1") == 1
    assert value(series, "govkiosk_kiosk_up", kiosk="k3") == 0
    assert value(series, "govkiosk_kiosk_healthy", kiosk="k1") == 1
    assert value(series, "govkiosk_kiosk_info", kiosk="k2", version="1.5.0") == 1

    # Telemetry is cumulative: a newer report replaces the kiosk's share, never adds to it.
    feed(model, "kiosk/v1/k1/telemetry", telemetry("k1", 20.0, items=ITEMS_A))
    # An older report (the outbox after a reconnect) changes nothing.
    feed(model, "kiosk/v1/k2/telemetry", telemetry("k2", 5.0, healthy=True, items=ITEMS_A))
    series = scrape(model)
    assert value(series, sessions, item="id_card_print", outcome="done") == 50
    assert value(series, "govkiosk_fleet_kiosks_healthy") == 1
    # A stale kiosk is not healthy; a cleared retained state forgets the kiosk.
    series = scrape(model, NOW + 101)
    assert value(series, "govkiosk_fleet_kiosks_healthy") == 0
    feed(model, "kiosk/v1/k2/state", b"")
    series = scrape(model)
    assert value(series, "govkiosk_fleet_kiosks") == 2
    assert value(series, sessions, item="id_card_print", outcome="done") == 41
    assert value(series, sessions, item="social_security_print", outcome="failed") == 0


def test_alarms_raised_deduplicated_cleared_and_expired() -> None:
    model = metrics()
    feed(model, "kiosk/v1/k1/state", state("k1"))
    feed(model, "kiosk/v1/k2/state", state("k2"))
    feed(model, "kiosk/v1/k1/evt/alarm", alarm("k1", "a1", "on_battery", "warning"))
    feed(model, "kiosk/v1/k1/evt/alarm", alarm("k1", "a1", "on_battery", "warning"))  # again
    feed(model, "kiosk/v1/k1/evt/alarm", alarm("k1", "a2", "low_battery", "critical"))
    feed(
        model,
        "kiosk/v1/k2/evt/alarm",
        alarm("k2", "b1", "paper_out", "warning", source="receipt"),
        NOW - 50,
    )
    series = scrape(model)
    assert value(series, "govkiosk_fleet_alarms_active", severity="warning") == 2
    assert value(series, "govkiosk_fleet_alarms_active", severity="critical") == 1
    assert value(series, "govkiosk_fleet_kiosks_alarmed", severity="warning") == 2
    assert value(series, "govkiosk_fleet_kiosks_alarmed", severity="critical") == 1
    by_code = "govkiosk_fleet_alarms_active_by_code"
    assert value(series, by_code, code="low_battery", severity="critical") == 1
    assert value(series, "govkiosk_fleet_alarms_received_total", severity="warning") == 2
    assert value(series, "govkiosk_kiosk_alarms_active", kiosk="k1", severity="critical") == 1

    # mains_restored (info, same source) clears the power alarms, not the receipt's.
    feed(model, "kiosk/v1/k1/evt/alarm", alarm("k1", "a3", "mains_restored", "info"))
    series = scrape(model)
    assert value(series, "govkiosk_fleet_alarms_active", severity="critical") == 0
    assert value(series, "govkiosk_fleet_alarms_active", severity="warning") == 1
    assert value(series, "govkiosk_fleet_kiosks_alarmed", severity="critical") == 0
    # An alarm nothing cleared stops counting after the TTL.
    ttl = ModelSettings().alarm_ttl
    series = scrape(model, NOW - 50 + ttl + 1)
    assert value(series, "govkiosk_fleet_alarms_active", severity="warning") == 0
    # A severity outside the known set is refused, counted.
    assert not model.handle("kiosk/v1/k1/evt/alarm", alarm("k1", "a9", "x", "fatal"), NOW)
    series = scrape(model)
    assert value(series, "govkiosk_fleet_exporter_rejected_total", reason="alarm") == 1
    feed(model, "kiosk/v1/k1/evt/command_rejected", b'{"reason": "bad_signature"}')
    feed(model, "kiosk/v1/k1/evt/whatever", b"{}")
    series = scrape(model)
    events = "govkiosk_fleet_events_received_total"
    assert value(series, events, event="alarm") == 6  # redelivery and the refused one included
    assert value(series, events, event="command_rejected") == 1
    assert value(series, events, event="other") == 1


def test_paper_and_availability() -> None:
    model = metrics()
    for n, (receipt, low, day) in enumerate(((80.0, False, 100.0), (4.0, True, 93.0))):
        kiosk = f"k{n}"
        feed(model, f"kiosk/v1/{kiosk}/state", state(kiosk))
        doc = telemetry(
            kiosk,
            1.0,
            paper=(("receipt", receipt, low), ("a4", 50.0, False)),
            availability={"24h": day, "30d": 99.9},
        )
        feed(model, f"kiosk/v1/{kiosk}/telemetry", doc)
    series = scrape(model)
    assert value(series, "govkiosk_fleet_paper_low_kiosks", kind="receipt") == 1
    assert value(series, "govkiosk_fleet_paper_low_kiosks", kind="a4") == 0
    assert value(series, "govkiosk_fleet_paper_remaining_percent_min", kind="receipt") == 4.0
    assert value(series, "govkiosk_kiosk_paper_remaining_percent", kiosk="k1", kind="receipt") == 4
    assert value(series, "govkiosk_fleet_availability_percent_avg", window="24h") == 96.5
    below = "govkiosk_fleet_kiosks_availability_below"
    assert value(series, below, window="24h", below="95") == 1
    assert value(series, below, window="24h", below="90") == 0
    assert value(series, below, window="30d", below="99") == 0


def test_online_ratio_over_the_window() -> None:
    model = FleetMetrics(
        FleetServeSettings(model=ModelSettings(uptime_window=100.0, uptime_sample=10.0))
    )
    feed(model, "kiosk/v1/k1/state", state("k1"))
    feed(model, "kiosk/v1/k2/state", state("k2"))
    model.sample(0.0)  # 2 of 2
    feed(model, "kiosk/v1/k2/state", state("k2", online=False))
    model.sample(10.0)  # 1 of 2
    series = scrape(model, 10.0)
    assert value(series, "govkiosk_fleet_online_ratio") == 0.75
    assert value(series, "govkiosk_fleet_online_ratio_window_seconds") == 10.0
    assert value(scrape(model, 105.0), "govkiosk_fleet_online_ratio") == 0.5  # first sample out


def test_caps_fold_items_codes_and_versions_into_other() -> None:
    model = metrics(items_max=2, alarm_codes_max=1, versions_max=1)
    items = {f"item{n}": {"sessions": {"done": 1, "bogus": 5}} for n in range(5)}
    for n in range(3):
        kiosk = f"k{n}"
        feed(model, f"kiosk/v1/{kiosk}/state", state(kiosk, version=f"1.{n}"))
        feed(model, f"kiosk/v1/{kiosk}/telemetry", telemetry(kiosk, 1.0, items=items))
        feed(model, f"kiosk/v1/{kiosk}/evt/alarm", alarm(kiosk, "x", f"code{n}", "warning"))
    series = scrape(model)
    sessions = {labels for name, labels in series if name == "govkiosk_fleet_item_sessions"}
    assert {dict(labels)["item"] for labels in sessions} == {"item0", "item1", OTHER}
    assert value(series, "govkiosk_fleet_item_sessions", item=OTHER, outcome="done") == 9
    assert value(series, "govkiosk_fleet_item_sessions", item="item0", outcome=OTHER) == 15
    by_code = "govkiosk_fleet_alarms_active_by_code"
    assert value(series, by_code, code="code0", severity="warning") == 1
    assert value(series, by_code, code=OTHER, severity="warning") == 2
    assert value(series, "govkiosk_fleet_kiosks_by_version", version=OTHER) == 2
    assert value(series, "govkiosk_fleet_exporter_folded_total", label="version") == 2


def test_an_items_list_keeps_made_up_codes_from_crowding_out_the_catalogue() -> None:
    model = metrics(items=("id_card_print",))
    junk = {f"junk{n}": {"sessions": {"done": 1}} for n in range(50)}
    feed(model, "kiosk/v1/k1/telemetry", telemetry("k1", 1.0, items=junk))
    feed(model, "kiosk/v1/k2/telemetry", telemetry("k2", 1.0, items=ITEMS_A))
    series = scrape(model)
    assert value(series, "govkiosk_fleet_item_sessions", item="id_card_print", outcome="done") == 41
    assert value(series, "govkiosk_fleet_item_sessions", item=OTHER, outcome="done") == 50


def test_5000_kiosks_over_the_cap_have_no_kiosk_label() -> None:
    model = metrics(kiosk_labels_max=2000, kiosks_max=5000)
    for n in range(5000):
        kiosk = f"hl-hrb-{n:05d}"
        feed(model, f"kiosk/v1/{kiosk}/state", state(kiosk, online=n % 10 != 0))
        feed(model, f"kiosk/v1/{kiosk}/telemetry", telemetry(kiosk, 1.0, items=ITEMS_B))
    assert not model.handle("kiosk/v1/one-too-many/state", state("one-too-many"), NOW)
    series = scrape(model)
    assert value(series, "govkiosk_fleet_kiosks") == 5000
    assert value(series, "govkiosk_fleet_kiosks_online") == 4500
    assert value(series, "govkiosk_fleet_exporter_kiosk_labels") == 0
    assert value(series, "govkiosk_fleet_exporter_rejected_total", reason="kiosks_max") == 1
    assert not any(name.startswith("govkiosk_kiosk_") for name in names(series))
    assert all("kiosk" not in dict(labels) for _name, labels in series)
    assert len(series) < 200  # fleet-wide series only, whatever the fleet's size
    done = value(series, "govkiosk_fleet_item_sessions", item="id_card_print", outcome="done")
    assert done == 5000 * 9
    # Under the cap, every kiosk has its few gauges.
    small = metrics(kiosk_labels_max=2000)
    for n in range(2000):
        feed(small, f"kiosk/v1/k{n}/state", state(f"k{n}"))
    series = scrape(small)
    assert sum(1 for name, _ in series if name == "govkiosk_kiosk_up") == 2000


HOSTILE = st.one_of(
    st.text(max_size=300),
    st.sampled_from(['a"b', "a\nb", "a\\b", '\\"\n', "x" * 100_000, "\ud800", "\u2028", "}"]),
)


@settings(max_examples=150, deadline=None)
@given(kiosk=st.text(min_size=1, max_size=200), item=HOSTILE, code=HOSTILE, version=HOSTILE)
@pytest.mark.fuzz
def test_hostile_strings_are_escaped_and_bounded(
    kiosk: str, item: str, code: str, version: str
) -> None:
    kiosk = kiosk.replace("/", "_")
    model = metrics(label_length_max=64)
    topic = f"kiosk/v1/{kiosk}"
    used = model.handle(f"{topic}/state", state(kiosk, version=version), NOW)
    model.handle(
        f"{topic}/telemetry", telemetry(kiosk, 1.0, items={item: {"sessions": {"done": 3}}}), NOW
    )
    model.handle(f"{topic}/evt/alarm", alarm(kiosk, "1", code, "critical", source=code), NOW)
    text = render(model.families(NOW)).decode("utf-8")
    series = parse(text)  # the official parser reads every line back
    if not used:
        assert value(series, "govkiosk_fleet_exporter_rejected_total", reason="kiosk_id") == 3
        return
    assert value(series, "govkiosk_kiosk_up", kiosk=kiosk) == 1  # ids kept exactly
    assert value(series, "govkiosk_fleet_kiosks_by_version", version=clean(version, 64)) == 1
    label = clean(item, 64)
    assert value(series, "govkiosk_fleet_item_sessions", item=label, outcome="done") == 3
    assert (
        value(
            series,
            "govkiosk_fleet_alarms_active_by_code",
            code=clean(code, 64),
            severity="critical",
        )
        == 1
    )
    assert all(len(v) <= 64 for _n, labels in series for k, v in labels if k != "kiosk")


@settings(max_examples=300, deadline=None)
@given(head=st.binary(max_size=200))
@pytest.mark.fuzz
def test_request_parser_takes_anything(head: bytes) -> None:
    try:
        request = parse_request(head)
    except HttpRequestError:
        return
    assert request.path.startswith("/")
    assert "?" not in request.path


def test_request_parser() -> None:
    assert parse_request(b"GET /metrics?x=1 HTTP/1.1\r\nHost: a\r\n\r\n").path == "/metrics"
    for bad in (b"GET /metrics\r\n\r\n", b"get / HTTP/1.1\r\n", b"GET x HTTP/1.1\r\n", b"\xff"):
        with pytest.raises(HttpRequestError):
            parse_request(bad)


def test_config_errors_name_file_key_and_expectation(tmp_path: Path) -> None:
    path = tmp_path / "metrics.toml"
    path.write_text(
        '[broker]\nhost = "b"\nport = 0\n[limits]\nitems_max = 0\ncolour = 1\n[http]\nport = "x"\n'
    )
    with pytest.raises(ConfigError) as caught:
        load(path)
    text = str(caught.value)
    assert f"{path}: broker.port: expected a TCP port, got 0" in text
    assert f"{path}: limits.items_max: expected an integer >= 1, got 0" in text
    assert f"{path}: limits.colour: unknown key" in text
    assert f"{path}: http.port:" in text
    path.write_text('[broker]\nhost = "b"\n[model]\nalarm_ttl = 60\n')
    loaded = load(path)
    assert loaded.model.alarm_ttl == 60.0
    assert dataclasses.asdict(loaded.limits) == dataclasses.asdict(Limits())
    assert loaded.http.port == 9720
