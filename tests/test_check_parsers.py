"""The check's small parsers (``/proc/net/route``, ``chronyc -c tracking``), its text
summary, and the check without a daemon: the services fail and say how to start it."""

from __future__ import annotations

import asyncio
import datetime
import math
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from govkiosk.cli import acceptance
from govkiosk.cli.check import (
    FAIL,
    PASS,
    SKIP,
    Check,
    Options,
    chrony_offset,
    default_gateway,
    run_checks,
    summary,
)

ROUTE = (
    "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
    "eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n"
    "eth0\t00000000\t010200C0\t0003\t0\t0\t100\t00000000\t0\t0\t0\n"
)
CHRONY = (
    "A9FEA9FE,169.254.169.254,3,1733490000.123,-0.000012345,-0.000001,0.000002,"
    "-12.5,0.01,0.02,0.0004,0.0003,64.5,Normal\n"
)


def test_the_default_gateway_is_read_from_the_route_table() -> None:
    assert default_gateway(ROUTE) == ("192.0.2.1", "eth0")
    assert default_gateway(ROUTE.splitlines(keepends=True)[0] + ROUTE.splitlines()[1]) is None
    assert default_gateway("") is None


@pytest.mark.fuzz
@given(st.text())
def test_any_route_text_gives_a_gateway_or_none(text: str) -> None:
    found = default_gateway(text)
    assert found is None or len(found[0].split(".")) == 4


def test_chrony_tracking_gives_the_offset() -> None:
    assert chrony_offset(CHRONY) == 0.000012345
    assert chrony_offset("506 Cannot talk to daemon") is None


@pytest.mark.fuzz
@given(st.text())
def test_any_chrony_text_gives_a_finite_offset_or_none(text: str) -> None:
    offset = chrony_offset(text)
    assert offset is None or (math.isfinite(offset) and offset >= 0)


def test_the_summary_puts_the_fix_under_each_failure() -> None:
    checks = [
        Check("network", "DNS a.example", PASS, "192.0.2.7"),
        Check("devices", "ups", FAIL, "no reading", "check the UPS's data cable"),
        Check("devices", "test receipt", SKIP, "not asked (--print-test)"),
    ]
    text = summary(checks).splitlines()
    assert text[0] == "[network]"
    assert "[devices]" in text
    failing = text.index("  FAIL  ups: no reading")
    assert text[failing + 1] == "        fix: check the UPS's data cable"
    assert text[-1] == "result: FAIL (1 checks failed)"


async def test_without_the_daemon_the_services_fail_naming_how_to_start_it(
    tmp_path: Path,
) -> None:
    config = tmp_path / "govkiosk.toml"
    config.write_text('[kiosk]\nid = "t-0001"\nname = "测试"\nregion = "230100"\n', "utf-8")
    options = Options(
        config=config,
        state_dir=tmp_path / "state",
        bus=f"unix:path={tmp_path / 'no-bus'}",
        stages=("deployment", "devices", "items"),
    )
    info, checks = await run_checks(options)
    assert info == {"kiosk_id": "t-0001", "name": "测试", "hall": ""}  # from the configuration
    named = {(c.stage, c.name): c for c in checks}
    assert named[("deployment", "configuration")].status == PASS
    for key in (("deployment", "services"), ("devices", "devices"), ("items", "items")):
        assert named[key].status == FAIL
        assert "systemctl start govkioskd" in named[key].fix


async def test_a_failing_report_pdf_says_not_passed_and_carries_the_fix() -> None:
    checks = [
        Check("devices", "test receipt", FAIL, "paper out", "load receipt paper"),
        Check("items", "id_card_print 身份证打印", PASS, "route answers"),
    ]
    now = datetime.datetime(2026, 12, 6, 15, 0, tzinfo=datetime.timezone.utc)
    report = acceptance.build({"kiosk_id": "t-0001"}, checks, ("devices", "items"), "张工", now)
    report["signed_by"] = {"alg": "none", "unsigned": "no key"}
    assert report["result"] == FAIL
    assert [s["status"] for s in report["stages"]] == [FAIL, PASS]
    pdf = acceptance.render_pdf(report)
    assert pdf is not None
    pdftotext = await asyncio.create_subprocess_exec(
        "pdftotext", "-layout", "-", "-",
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    text = (await asyncio.wait_for(pdftotext.communicate(pdf), 30))[0].decode("utf-8")
    assert "设备检查（不通过）" in text
    assert "处理：load receipt paper" in text
    assert "未签名：no key" in text
    assert "事项调试检查表" in text


def test_a_detail_from_the_network_cannot_steer_the_terminal() -> None:
    hostile = Check("items", "route", FAIL, "HTTP 500 \x1b]0;owned\x07\x1b[2J", "call \x1b[31mme")
    shown = summary([hostile])
    assert "\x1b" not in shown
    assert "\x07" not in shown
    assert "\\x1b]0;owned" in shown
    assert "call \\x1b[31mme" in shown
