#!/usr/bin/python3
"""Read ``packaging/depends.txt``, the one list of runtime dependencies.

    depends.py deb govkiosk       Depends: entries of a binary package (debian/rules)
    depends.py rpm govkiosk-ui    Requires: entries (the spec file)
    depends.py lock WHEEL_DIR     write packaging/vendor.txt from the "vendor" rows

``lock`` takes each vendored distribution's version from constraints.txt, downloads its
pure-Python wheel for the oldest Python the kiosks run (3.8, Kylin V10), and records its
hash and licence. Every run-time requirement of a vendored wheel must itself be a row
of depends.txt, so nothing reaches the kiosk unlisted.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from email.message import Message
from email.parser import Parser
from pathlib import Path
from typing import Dict, List

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DEPENDS = HERE / "depends.txt"
LOCK = HERE / "vendor.txt"
CONSTRAINTS = ROOT / "constraints.txt"
#: The oldest Python on a target (Kylin V10); vendored wheels must support it.
OLDEST_PYTHON = "3.8"
#: Requirements for other operating systems never reach a kiosk.
_FOREIGN_MARKER = re.compile(
    r"(sys_platform|platform_system|os_name)\s*==\s*['\"](win32|darwin|Windows|Darwin|nt)"
)


@dataclass(frozen=True)
class Dependency:
    name: str
    source: str  # "dist", "vendor" or "unmet"
    deb: str
    rpm: str
    package: str


def normalise(name: str) -> str:
    """PEP 503 name: ``typing_extensions`` and ``Typing-Extensions`` are one project."""
    return re.sub(r"[-_.]+", "-", name).lower()


def read_table(path: Path = DEPENDS) -> List[Dependency]:
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        fields = line.split("#", 1)[0].split()
        if not fields:
            continue
        if len(fields) != 5 or fields[1] not in ("dist", "vendor", "unmet"):
            raise SystemExit(
                f"{path.name}:{number}: expected name, dist|vendor|unmet, deb, rpm, package"
            )
        rows.append(Dependency(*fields))
    return rows


def read_pins(path: Path = CONSTRAINTS) -> Dict[str, str]:
    pins = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        name, sep, version = line.split("#", 1)[0].strip().partition("==")
        if sep:
            pins[normalise(name)] = version.strip()
    return pins


def system_packages(kind: str, package: str) -> str:
    rows = [r for r in read_table() if r.source == "dist" and r.package == package]
    return ", ".join(r.deb if kind == "deb" else r.rpm for r in rows)


def lock(wheel_dir: Path) -> None:
    table = read_table()
    listed = {normalise(r.name) for r in table}
    pins = read_pins()
    entries = []
    for row in sorted((r for r in table if r.source == "vendor"), key=lambda r: normalise(r.name)):
        name = normalise(row.name)
        if name not in pins:
            raise SystemExit(f"{name}: vendored but not pinned (==) in constraints.txt")
        wheel = _download(f"{name}=={pins[name]}", wheel_dir)
        metadata = _metadata(wheel)
        for requirement in metadata.get_all("Requires-Dist") or []:
            needed = normalise(re.split(r"[\s;<>=!~\[(]", requirement, maxsplit=1)[0])
            if "extra ==" in requirement or _FOREIGN_MARKER.search(requirement):
                continue
            if needed not in listed:
                raise SystemExit(f"{name} needs {needed}: add it to packaging/depends.txt")
        digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
        entries.append(
            f"# {name}: {_licence(metadata)}\n{name}=={pins[name]} \\\n    --hash=sha256:{digest}\n"
        )
    header = (
        "# Vendored pure-Python libraries, installed into /usr/lib/govkiosk/vendor.\n"
        "# Written by `packaging/vendor.sh lock` from depends.txt and constraints.txt:\n"
        "# do not edit. Wheels are py3-none-any for Python >= "
        f"{OLDEST_PYTHON}; '# name: licence' above each.\n"
    )
    LOCK.write_text(header + "".join(entries), encoding="utf-8")


def _download(requirement: str, wheel_dir: Path) -> Path:
    subprocess.run(
        [
            sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
            "--only-binary=:all:", "--platform", "any", "--implementation", "py",
            "--abi", "none", "--python-version", OLDEST_PYTHON, "--dest", str(wheel_dir),
            requirement,
        ],
        check=True,
    )  # fmt: skip
    name, version = requirement.split("==")
    stem = f"{name.replace('-', '_')}-{version}-"
    found = [w for w in wheel_dir.glob("*.whl") if w.name.lower().startswith(stem.lower())]
    if len(found) != 1:
        raise SystemExit(f"{requirement}: expected one wheel in {wheel_dir}, found {len(found)}")
    return found[0]


def _metadata(wheel: Path) -> Message:
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        return Parser().parsestr(archive.read(name).decode("utf-8"))


def _licence(metadata: Message) -> str:
    for key in ("License-Expression", "License"):
        value = (metadata.get(key) or "").strip()
        if value and "\n" not in value and len(value) < 80:
            return value
    classifiers = [c.split("::")[-1].strip() for c in metadata.get_all("Classifier") or []]
    named = [c for c in classifiers if "License" in c and c != "OSI Approved"]
    return ", ".join(named) or "see the wheel's licence file"


def main(argv: List[str]) -> int:
    if len(argv) == 2 and argv[0] in ("deb", "rpm"):
        print(system_packages(argv[0], argv[1]))
        return 0
    if len(argv) == 2 and argv[0] == "lock":
        lock(Path(argv[1]))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
