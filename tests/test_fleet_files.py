"""What the govkiosk-fleet package ships (packaging/fleet/): the Grafana dashboard and the
Prometheus rules use only metrics the exporter serves, promtool accepts the rules, the
unit is hardened, and the example configuration loads."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import List

import pytest

from govkiosk.fleet.metrics import METRICS
from govkiosk.fleet.settings import FleetServeSettings, Limits, ModelSettings, load

FLEET = Path(__file__).resolve().parents[1] / "packaging" / "fleet"
DASHBOARD = FLEET / "grafana-dashboard.json"
RULES = FLEET / "alert-rules.yml"
UNIT = FLEET / "govkiosk-fleet.service"
#: Prometheus's own series, which a rule may use beside ours.
PROMETHEUS_OWN = {"up"}
IDENTIFIER = re.compile(r"\b(govkiosk_[a-z0-9_]+)")


def dashboard_exprs() -> List[str]:
    document = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return [t["expr"] for p in document["panels"] for t in p.get("targets", [])]


def rule_exprs() -> List[str]:
    # The rules file is plain YAML written for people; every expression is on one line.
    return [
        m.group(1).strip()
        for m in re.finditer(r"^\s+expr:\s*(.+)$", RULES.read_text(encoding="utf-8"), re.M)
    ]


def test_every_dashboard_expr_uses_served_metrics() -> None:
    exprs = dashboard_exprs()
    assert len(exprs) >= 15
    used = {name for expr in exprs for name in IDENTIFIER.findall(expr)}
    assert used, "the dashboard queries no govkiosk metric"
    assert used - set(METRICS) == set()
    # The headline figures the issue asks for are all on it.
    for wanted in (
        "govkiosk_fleet_kiosks_online",
        "govkiosk_fleet_kiosks_healthy",
        "govkiosk_fleet_alarms_active",
        "govkiosk_fleet_item_sessions",
        "govkiosk_fleet_item_evaluations",
        "govkiosk_fleet_paper_remaining_percent_min",
        "govkiosk_fleet_online_ratio",
        "govkiosk_fleet_kiosks_by_version",
    ):
        assert wanted in used
    document = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    ids = [p["id"] for p in document["panels"]]
    assert len(ids) == len(set(ids))
    assert all(p["datasource"]["uid"] == "${DS_PROMETHEUS}" for p in document["panels"])


def test_rules_pass_promtool_and_use_served_metrics() -> None:
    promtool = shutil.which("promtool")
    assert promtool, "promtool comes with the prometheus package (make system-packages)"
    checked = subprocess.run(
        [promtool, "check", "rules", str(RULES)],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS: 7 rules found" in checked.stdout
    exprs = rule_exprs()
    used = {name for expr in exprs for name in IDENTIFIER.findall(expr)}
    assert used - set(METRICS) == set()
    text = RULES.read_text(encoding="utf-8")
    for alert in ("KioskOffline", "AlarmCritical", "PaperLow", "UptimeLow"):
        assert f"alert: Govkiosk{alert}" in text


@pytest.fixture
def broken_rules(tmp_path: Path) -> Path:
    path = tmp_path / "rules.yml"
    path.write_text(RULES.read_text().replace("govkiosk_kiosk_up == 0", "govkiosk_kiosk_up =="))
    return path


def test_promtool_would_catch_a_broken_rule(broken_rules: Path) -> None:
    promtool = shutil.which("promtool")
    assert promtool
    checked = subprocess.run(
        [promtool, "check", "rules", str(broken_rules)],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert checked.returncode != 0


def test_unit_is_hardened() -> None:
    text = UNIT.read_text(encoding="utf-8")
    for line in (
        "ExecStart=/usr/bin/govkioskctl fleet serve --config /etc/govkiosk-fleet/metrics.toml",
        "DynamicUser=yes",
        "CapabilityBoundingSet=",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "PrivateDevices=yes",
        "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6",
        "SystemCallFilter=@system-service",
        "LoadCredential=ops-metrics.key:/etc/govkiosk-fleet/ops-metrics.key",
    ):
        assert line in text.splitlines(), line
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    security = subprocess.run(
        [analyze, "security", "--offline=true", str(UNIT)],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    found = re.search(r"Overall exposure level for \S+: ([\d.]+)", security.stdout)
    assert found, security.stdout + security.stderr
    assert float(found.group(1)) <= 2.0


def test_example_config_loads_with_credentials(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path))
    settings = load(FLEET / "metrics.toml")
    assert settings.broker.key == str(tmp_path / "ops-metrics.key")
    assert settings.broker.ca == str(tmp_path / "ca.crt")
    # The example shows the defaults: what it says is what the service does without it.
    assert settings.limits == Limits()
    assert settings.model == ModelSettings()
    assert settings.http == FleetServeSettings().http
    monkeypatch.delenv("CREDENTIALS_DIRECTORY")
    assert load(FLEET / "metrics.toml").broker.cert == str(FLEET / "ops-metrics.crt")
