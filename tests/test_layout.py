"""The package list in setup.cfg matches the tree, so built packages contain every module."""

from __future__ import annotations

import configparser
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ROOTS = {"govkiosk": REPO / "daemon" / "govkiosk", "govkiosk_ui": REPO / "kivy_ui" / "govkiosk_ui"}


def packages_in_tree() -> set:
    found = set()
    for name, root in ROOTS.items():
        for init in root.rglob("__init__.py"):
            relative = init.parent.relative_to(root).parts
            found.add(".".join((name, *relative)))
    return found


def test_setup_cfg_lists_every_package() -> None:
    parser = configparser.ConfigParser()
    parser.read(REPO / "setup.cfg", encoding="utf-8")
    listed = {line.strip() for line in parser["options"]["packages"].splitlines() if line.strip()}
    assert listed == packages_in_tree()


def test_every_directory_with_python_is_a_package() -> None:
    for root in ROOTS.values():
        for module in root.rglob("*.py"):
            assert (module.parent / "__init__.py").exists(), f"{module.parent} lacks __init__.py"
