"""The structure's rules, read from every module's imports (docs/architecture.md).

Layers, bottom to top — a module imports only from its own layer or below:

    contract   govkiosk.contract: the names, connection and log rules both processes share
    plumbing   errors, fields, tables, kiosk, timeouts, bus, store, supervisor, activity,
               sdnotify, workerproc, dbus/ (the error boundary, the served connection, one-off calls),
               gm/ (SM2, SM3, SM2 certificates)
               ofd/ (reading, checking and rendering OFD documents)
    features   device families, face verification, items, session, printing, power,
               backends, security, maintenance, backup, ops (the kiosk's side), fleet (the
               operator's side), docscan (the document camera's pages), promo (the
               promotion screen's content), updates (signed, health-gated updates)
    faces      api/ (each feature's D-Bus interface and install), config, runtime,
               reconfigure, confset: the daemon's wiring
    programs   app, cli/, demo*, __main__

Besides: no module cycles anywhere; no feature imports another package's private names
(``_name``); the feature packages' own dependencies form no cycle; the UI imports
nothing of the daemon's package but the contract.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Set, Tuple

import pytest

ROOT = Path(__file__).resolve().parent.parent
SOURCES = {
    "govkiosk": ROOT / "daemon" / "govkiosk",
    "govkiosk_ui": ROOT / "kivy_ui" / "govkiosk_ui",
}

CONTRACT, PLUMBING, FEATURES, FACES, PROGRAMS = range(5)
LAYER_NAMES = ("contract", "plumbing", "features", "faces", "programs")

#: The first part below ``govkiosk`` → its layer.
LAYERS: Dict[str, int] = {
    "contract": CONTRACT,
    **dict.fromkeys(
        (
            "",
            "errors",
            "fields",
            "tables",
            "kiosk",
            "timeouts",
            "bus",
            "store",
            "supervisor",
            "activity",
            "sdnotify",
            "lazyimports",
            "workerproc",
            "dbus",
            "gm",
            "pdfbytes",
            "checkedfetch",
            "ofd",
        ),
        PLUMBING,
    ),
    **dict.fromkeys(
        (
            "devices",
            "faceverify",
            "items",
            "session",
            "evaluation",
            "printing",
            "power",
            "backends",
            "security",
            "maintenance",
            "backup",
            "ops",
            "fleet",
            "docscan",
            "promo",
            "upkeep",
            "webapps",
            "updates",
        ),
        FEATURES,
    ),
    **dict.fromkeys(("api", "config", "runtime", "reconfigure", "confset", "readiness"), FACES),
    **dict.fromkeys(
        ("app", "cli", "demo", "demo_department", "demo_ops", "__main__", "__init__"),
        PROGRAMS,
    ),
}


def module_name(path: Path) -> str:
    for top, base in SOURCES.items():
        if base in path.parents:
            parts = [top, *path.relative_to(base).with_suffix("").parts]
            return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
    raise AssertionError(path)


def modules() -> Dict[str, Path]:
    return {module_name(p): p for base in SOURCES.values() for p in sorted(base.rglob("*.py"))}


MODULES = modules()


def imports(name: str, path: Path) -> Iterator[Tuple[str, Optional[str]]]:
    """``(module, imported name or None)`` for every import of our packages in the file."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, None
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            for alias in node.names:
                yield target, alias.name


def resolve(target: str, name: Optional[str]) -> Optional[str]:
    """The module an import reaches: ``pkg`` + name when that is a module, else ``pkg``."""
    if name is not None and f"{target}.{name}" in MODULES:
        return f"{target}.{name}"
    while target and target not in MODULES:
        target = target.rpartition(".")[0]
    return target or None


def graph() -> Dict[str, Set[str]]:
    edges: Dict[str, Set[str]] = {}
    for name, path in MODULES.items():
        edges[name] = set()
        for target, imported in imports(name, path):
            reached = resolve(target, imported)
            if reached is not None and reached != name:
                edges[name].add(reached)
    return edges


GRAPH = graph()


def part(module: str) -> str:
    """The first part below ``govkiosk``: ``devices`` for ``govkiosk.devices.idcard.sim``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def layer(module: str) -> int:
    assert part(module) in LAYERS, f"{module}: no layer; add its package to LAYERS"
    return LAYERS[part(module)]


def daemon_modules() -> List[str]:
    return [m for m in MODULES if m.split(".")[0] == "govkiosk"]


def cycles(edges: Dict[str, Set[str]]) -> List[List[str]]:
    """Strongly connected components of more than one node (Tarjan)."""
    index: Dict[str, int] = {}
    low: Dict[str, int] = {}
    stack: List[str] = []
    on_stack: Set[str] = set()
    found: List[List[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for succ in sorted(edges.get(node, ())):
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_every_daemon_module_has_a_layer() -> None:
    unplaced = sorted({part(m) for m in daemon_modules() if part(m) not in LAYERS})
    assert unplaced == []


def test_no_module_cycles() -> None:
    assert cycles(GRAPH) == []


def test_imports_point_down_the_layers() -> None:
    upward = [
        f"{m} ({LAYER_NAMES[layer(m)]}) imports {t} ({LAYER_NAMES[layer(t)]})"
        for m in daemon_modules()
        for t in sorted(GRAPH[m])
        if t.startswith("govkiosk.") and layer(t) > layer(m)
    ]
    assert upward == []


def test_the_contract_imports_only_itself() -> None:
    outside = [
        f"{m} imports {t}"
        for m in daemon_modules()
        if part(m) == "contract"
        for t in sorted(GRAPH[m])
        if part(t) != "contract"
    ]
    assert outside == []


def test_features_depend_on_each_other_without_a_cycle() -> None:
    features = {p for p, level in LAYERS.items() if level == FEATURES}
    packages: Dict[str, Set[str]] = {p: set() for p in features}
    for m in daemon_modules():
        if part(m) in features:
            packages[part(m)].update(part(t) for t in GRAPH[m] if part(t) in features)
    for p, deps in packages.items():
        deps.discard(p)
    assert cycles(packages) == []


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def test_no_package_imports_another_ones_private_names() -> None:
    private = [
        f"{m} imports {target}.{name}"
        for m in daemon_modules()
        for target, name in imports(m, MODULES[m])
        if target.split(".")[0] == "govkiosk"
        and part(target) != part(m)
        and (_private(name or "") or any(_private(p) for p in target.split(".")))
    ]
    assert private == []


def test_the_ui_imports_only_the_contract_of_the_daemon() -> None:
    reached = sorted(
        f"{m} imports {t}"
        for m in MODULES
        if m.startswith("govkiosk_ui")
        for t in GRAPH[m]
        if (t.startswith("govkiosk.") and part(t) != "contract") or t == "govkiosk"
    )
    assert reached == []


@pytest.mark.parametrize(
    ("edges", "expected"),
    [
        ({"a": {"b"}, "b": {"a"}, "c": {"a"}}, [["a", "b"]]),
        ({"a": {"b"}, "b": {"c"}, "c": set()}, []),
    ],
)
def test_the_cycle_finder_finds_cycles(
    edges: Dict[str, Set[str]], expected: List[List[str]]
) -> None:
    assert cycles(edges) == expected
