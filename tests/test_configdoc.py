"""docs/configuration.md is generated from the typed configuration and kept current: a key
added without regenerating it (``make config-doc``) fails here, and so does a key without
a description."""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
from pathlib import Path
from typing import List

from govkiosk.cli import configdoc
from govkiosk.config import load_config
from govkiosk.devices.roles import CAMERAS, FORMS, ROLES, address_problem
from govkiosk.fields import seconds

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "docs" / "configuration.md"


def test_the_committed_reference_is_the_generated_one() -> None:
    assert REFERENCE.read_text(encoding="utf-8") == configdoc.render(), (
        "docs/configuration.md is stale: run `make config-doc`"
    )


#: A description's expectation, which configdoc appends to the key's own words.
EXPECTATION = re.compile(r"\s*Expected: .*\Z", re.S)


def undescribed(sections: List[configdoc.Section]) -> List[str]:
    """Keys whose description is empty or only says what value is expected: an
    integrator must read what the key does, in what unit, and when to change it."""
    return [
        f"{section.path}.{key.name}"
        for section in sections
        for key in section.keys
        if len(EXPECTATION.sub("", key.description).split()) < 3
    ]


def test_every_key_is_described() -> None:
    assert undescribed(configdoc.sections()) == []
    paths = {section.path for section in configdoc.sections()}
    assert {"kiosk", "daemon", "devices.static", "devices.usb", "ups", "face"} <= paths


@dataclasses.dataclass(frozen=True)
class _Sample:
    #: Seconds between two readings of the sample device.
    described: float = seconds(5.0)
    only_expected: float = seconds(1.0)
    bare: str = ""


def test_a_key_with_only_an_expectation_or_nothing_is_undescribed() -> None:
    found: List[configdoc.Section] = []
    configdoc._walk(_Sample, ("sample",), False, "", found)
    (section,) = found
    assert [k.description for k in section.keys] == [
        "Seconds between two readings of the sample device. Expected: a number of seconds > 0.",
        "Expected: a number of seconds > 0.",
        "",
    ]
    assert undescribed(found) == ["sample.only_expected", "sample.bare"]


def test_the_examples_load_together_as_one_configuration(tmp_path: Path) -> None:
    examples = re.findall(r"```toml\n(.*?)```", configdoc.render(), re.S)
    assert len(examples) == len([s for s in configdoc.sections() if s.keys])
    main = tmp_path / "govkiosk.toml"
    main.write_text("\n".join(examples), encoding="utf-8")
    config = load_config(main)
    assert config.kiosk.id == "hlj-harbin-0001"
    assert config.ups.password_file == "/etc/govkiosk/nut-password"
    assert [d.role for d in config.devices.static] == ["receipt_printer"]


def test_every_role_and_address_form_is_in_the_reference() -> None:
    text = configdoc.render()
    for role in ROLES:
        assert f"| `{role}` |" in text
    for form, roles, example in FORMS:
        assert f"`{example}`" in text
        role = "ups" if roles == "ups" else "qrscanner" if roles == "qrscanner" else None
        role = role or (CAMERAS[0] if roles.startswith("cameras") else "idcard")
        assert address_problem(role, example) is None, form


def test_the_command_prints_it_and_writes_it(tmp_path: Path) -> None:
    printed = subprocess.run(
        [sys.executable, "-m", "govkiosk.cli.main", "config-doc"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert printed.stdout == configdoc.render()
    out = tmp_path / "configuration.md"
    subprocess.run(
        [str(Path(sys.executable).parent / "govkioskctl"), "config-doc", "--output", str(out)],
        capture_output=True,
        timeout=60,
        check=True,
    )
    assert out.read_text(encoding="utf-8") == printed.stdout
