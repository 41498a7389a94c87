"""docs/architecture.md stays true to the tree: every path it names exists, every package
is described."""

from __future__ import annotations

import re
from pathlib import Path
from typing import List, Set

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "architecture.md"
PACKAGE_ROOTS = (ROOT / "daemon" / "govkiosk", ROOT / "kivy_ui" / "govkiosk_ui")
#: Paths the doc names that the programs make at run or build time, not the tree.
MADE_LATER = {"conf.d/90-ops.toml", "dist/", "out/demo.png"}
FILE_SUFFIXES = (".py", ".md", ".toml", ".sh", ".rules", ".txt", ".conf", ".spec")


def named_paths(text: str) -> List[str]:
    """Backticked tokens that name a file or folder of the tree (not URLs, globs or templates)."""
    tokens = re.findall(r"`([^`\s]+)`", text)
    return [
        t
        for t in tokens
        if ("/" in t or t.endswith(FILE_SUFFIXES))
        and not re.search(r"[<>{}*:~…|()=,]", t)
        and not t.startswith(("/", ".venv", "-"))
    ]


def tree_paths() -> Set[str]:
    """Every file and folder of the project, as paths relative to the repository."""
    tracked = set()
    for path in ROOT.rglob("*"):
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith((".git/", ".venv/", "build/", "dist/")) or "__pycache__" in rel:
            continue
        tracked.add(rel + ("/" if path.is_dir() else ""))
    return tracked


TREE = tree_paths()


def exists(token: str) -> bool:
    """The token is a path from the repository or a package root, or the tail of one."""
    wanted = token.rstrip("/")
    return any(p.rstrip("/") == wanted or p.rstrip("/").endswith("/" + wanted) for p in TREE)


def test_every_path_the_architecture_names_exists() -> None:
    named = set(named_paths(DOC.read_text(encoding="utf-8"))) - MADE_LATER
    missing = sorted(t for t in named if not exists(t))
    assert missing == []


def test_every_package_is_described() -> None:
    tokens = {t.rstrip("/") for t in named_paths(DOC.read_text(encoding="utf-8"))}
    packages = sorted(
        init.parent.relative_to(root).as_posix()
        for root in PACKAGE_ROOTS
        for init in root.rglob("__init__.py")
        if init.parent != root
    )
    undescribed = [p for p in packages if not any(p == t or p.endswith("/" + t) for t in tokens)]
    assert undescribed == []


def test_the_path_check_sees_a_missing_file() -> None:
    assert named_paths("`dbuscall.py` and `devices/idcard/` and `nut://host/ups`") == [
        "dbuscall.py",
        "devices/idcard/",
    ]
    assert not exists("dbuscall.py")
    assert exists("devices/idcard/")
    assert exists("idcard/protocol.py")
