"""``config/demo.toml`` is what the README says it is."""

from __future__ import annotations

from govkiosk.config import load_config
from govkiosk.demo import DEMO_CONFIG, REPO
from govkiosk.maintenance.pin import verify_pin

DEMO_PIN = "246810"  #: the README's demo maintenance PIN


def test_the_demo_maintenance_pin_is_the_documented_one() -> None:
    assert f"PIN `{DEMO_PIN}`" in (REPO / "README.md").read_text(encoding="utf-8")
    pin_hash = load_config(DEMO_CONFIG).maintenance.pin_hash
    assert verify_pin(DEMO_PIN, pin_hash)
    assert not verify_pin("000000", pin_hash)
