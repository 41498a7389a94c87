"""The port map's rule language and the sealing decisions, without sysfs."""

from __future__ import annotations

from pathlib import Path
from typing import Tuple

import pytest
from hypothesis import given
from hypothesis import strategies as st

from govkiosk import app
from govkiosk.devices.usbseal.identity import UsbIdentity, UsbInterface
from govkiosk.devices.usbseal.policy import decide_device, decide_interface, is_badusb
from govkiosk.devices.usbseal.rules import RuleError, parse_rules

RULES = """\
# port map of the reference kiosk
allow receipt_printer via-port 1-2 id 0416:5011 with-interface 07:*:*   # the printer
allow idcard via-port { 1-3 1-3.2 } id 1a86:* serial "SN 01" with-interface { ff:*:* 02:02:* }
block id 0781:*
maintenance engineer_storage via-port 1-4 with-interface 08:06:50
allow anything via-port 1-4 with-interface *:*:*
"""
PRINTER = UsbIdentity("1-2", "0416", "5011", "", 0)
KEYBOARD = UsbInterface("1-2:1.1", 0x03, 0x01, 0x01)
PRINTING = UsbInterface("1-2:1.0", 0x07, 0x01, 0x02)


def test_rules_parse_with_lines_and_sets() -> None:
    rules = parse_rules(RULES, "/etc/govkiosk/usb.rules").rules
    assert [(r.line, r.action, r.role) for r in rules] == [
        (2, "allow", "receipt_printer"),
        (3, "allow", "idcard"),
        (4, "block", ""),
        (5, "maintenance", "engineer_storage"),
        (6, "allow", "anything"),
    ]
    assert rules[1].ports == frozenset({"1-3", "1-3.2"})
    assert rules[1].serials == frozenset({"SN 01"})
    assert rules[0].where == "usb.rules:2"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("permit x via-port 1-2 with-interface 07:*:*", "unknown action 'permit'"),
        ("allow via-port 1-2 with-interface 07:*:*", "expected a role name"),
        ("allow Printer via-port 1-2 with-interface 07:*:*", "expected a role name"),
        ("allow printer with-interface 07:*:*", "needs via-port"),
        ("allow printer via-port 1-2", "needs with-interface"),
        ("allow printer via-port 1_2 with-interface 07:*:*", "via-port: expected a port"),
        ("block id 416:5011", "id: expected vvvv:pppp, got '416:5011'"),
        ("block vid 0416", "unknown attribute 'vid'"),
        ("block id 0416:5011 id 0416:5012", "id given twice"),
        ("block id { 0416:5011", "'{' without '}'"),
        ("block id { }", "expected values between"),
        ('block serial "abc', "unterminated quoted string"),
        ("block id", "id: missing value"),
        ("block with-interface 08:*:*", "with-interface belongs to allow"),
        ('block id "0416:5011"', "quoted values are for serial only"),
    ],
)
def test_bad_rules_name_line_and_reason(text: str, reason: str) -> None:
    with pytest.raises(RuleError) as caught:
        parse_rules("# ok\n\n" + text + "\n", "usb.rules")
    assert caught.value.problems[0][0] == 3
    assert reason in caught.value.problems[0][1]
    assert str(caught.value).startswith("usb.rules:3: ")


def test_every_bad_line_is_reported_at_once() -> None:
    with pytest.raises(RuleError) as caught:
        parse_rules("foo\nallow x via-port 1-2 with-interface 07:*:*\nbar\n")
    assert [line for line, _reason in caught.value.problems] == [1, 3]


@pytest.mark.fuzz
@given(st.text(alphabet=st.sampled_from(list('allowblck{}"#: -.*0123456789abfirsvw-_\n'))))
def test_parser_fuzz_only_raises_rule_errors(text: str) -> None:
    problems: Tuple[Tuple[int, str], ...] = ()
    try:
        parse_rules(text)
    except RuleError as err:
        problems = err.problems
    assert all(1 <= line <= text.count("\n") + 1 for line, _reason in problems)


def test_port_map_decisions() -> None:
    rules = parse_rules(RULES)
    printer = decide_device(rules, PRINTER)
    assert (printer.allowed, printer.role, printer.reason) == (
        True,
        "receipt_printer",
        "usb.rules:2",
    )
    elsewhere = decide_device(rules, UsbIdentity("1-5", "0416", "5011", "", 0))
    assert (elsewhere.allowed, elsewhere.reason) == (False, "default deny")
    blocked = decide_device(rules, UsbIdentity("1-2", "0781", "5567", "", 0))
    assert (blocked.allowed, blocked.reason) == (False, "usb.rules:4")
    stick = UsbIdentity("1-4", "0781", "5567", "", 0)
    assert decide_device(rules, stick).reason == "usb.rules:4"  # block comes first
    card = UsbIdentity("1-3.2", "1a86", "7523", "SN 01", 0)
    assert decide_device(rules, card).role == "idcard"
    assert not decide_device(rules, UsbIdentity("1-3", "1a86", "7523", "SN 02", 0)).allowed


def test_maintenance_rules_apply_only_in_a_window() -> None:
    rules = parse_rules("maintenance engineer_storage via-port 1-4 with-interface 08:*:*\n")
    stick = UsbIdentity("1-4", "0951", "1666", "", 0)
    assert not decide_device(rules, stick).allowed
    assert decide_device(rules, stick, frozenset({"1-4"})).role == "engineer_storage"
    assert rules.maintenance_ports() == frozenset({"1-4"})


def test_interfaces_the_role_does_not_need_are_sealed() -> None:
    device = decide_device(parse_rules(RULES), PRINTER)
    assert decide_interface(device, PRINTING).allowed
    assert not decide_interface(device, KEYBOARD).allowed
    assert is_badusb(device, KEYBOARD)
    sealed = decide_device(parse_rules(""), PRINTER)
    assert not decide_interface(sealed, PRINTING).allowed
    assert not is_badusb(sealed, KEYBOARD)


def test_check_config_exits_2_with_line_and_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules = tmp_path / "usb.rules"
    rules.write_text("allow receipt_printer via-port 1-2 with-interface 07:*:*\nallow qr\n")
    config = tmp_path / "govkiosk.toml"
    config.write_text(f'[kiosk]\nid = "k1"\n\n[devices.usb]\nrules = "{rules}"\n')
    assert app.main(["--config", str(config), "--check-config"]) == 2
    err = capsys.readouterr().err
    assert f"govkiosk.toml: devices.usb.rules: {rules}:2: allow qr: needs via-port" in err
    rules.write_text("allow receipt_printer via-port 1-2 with-interface 07:*:*\n")
    assert app.main(["--config", str(config), "--check-config"]) == 0


def test_check_config_names_a_missing_rules_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "govkiosk.toml"
    config.write_text('[kiosk]\nid = "k1"\n\n[devices.usb]\nrules = "/nonexistent/usb.rules"\n')
    assert app.main(["--config", str(config), "--check-config"]) == 2
    assert "devices.usb.rules: /nonexistent/usb.rules: cannot be read" in capsys.readouterr().err
