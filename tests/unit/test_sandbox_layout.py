"""The sandbox package's layout holds: its rooms import one way, nothing imports in a circle, and
no module is over 400 lines (see `docs/sandbox.md`, "Finding your way in the code").

Imports are read from the source with `ast`, all of them: those under `if TYPE_CHECKING:` and
inside functions count too, since they are circles a reader has to untangle just the same.
"""

from __future__ import annotations

import ast
from pathlib import Path

import wanode.sandbox

PACKAGE = "wanode.sandbox"
ROOT = Path(wanode.sandbox.__file__).parent
MAX_LINES = 400
# Bottom to top: a module may import its own room and the rooms below it, never one above.
ROOMS = (
    ("config", "samples", "faults"),
    ("rules",),
    ("state",),
    ("webhooks",),
    ("platform",),
    ("http",),
    ("graph",),
    ("handset",),
    ("app",),
    ("sandbox",),
    ("",),  # the package's own __init__: the public surface
)
RANK = {room: rank for rank, rooms in enumerate(ROOMS) for room in rooms}


def _modules() -> dict[str, Path]:
    found = {}
    for path in ROOT.rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join((PACKAGE, *parts))] = path
    return found


MODULES = _modules()


def _room(module: str) -> str:
    return module.removeprefix(PACKAGE).lstrip(".").split(".")[0]


def _imports(module: str, path: Path) -> set[str]:
    """The modules of the package `module` imports (a name imported from a package counts as
    that submodule when there is one)."""
    targets: set[str] = set()
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".")
                anchor = anchor if is_package else anchor[:-1]
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                child = f"{base}.{alias.name}"
                targets.add(child if child in MODULES else base)
    return {target for target in targets if target in MODULES and target != module}


GRAPH = {module: _imports(module, path) for module, path in MODULES.items()}


def test_every_module_is_in_a_room() -> None:
    assert {_room(module) for module in MODULES} <= set(RANK)


def test_rooms_import_only_downwards() -> None:
    upward = sorted(
        f"{module} imports {target}"
        for module, targets in GRAPH.items()
        for target in targets
        if _room(target) != _room(module) and RANK[_room(target)] >= RANK[_room(module)]
    )
    assert upward == []


def test_no_import_cycles() -> None:
    state: dict[str, str] = {}
    cycles: list[list[str]] = []

    def visit(module: str, trail: list[str]) -> None:
        state[module] = "open"
        for target in sorted(GRAPH[module]):
            if state.get(target) == "open":
                cycles.append([*trail[trail.index(target) :], target])
            elif target not in state:
                visit(target, [*trail, target])
        state[module] = "done"

    for module in sorted(GRAPH):
        if module not in state:
            visit(module, [module])
    assert cycles == []


def test_the_checks_see_the_imports() -> None:
    # A guard on the checks themselves: the graph has the edges the layout is built from.
    assert f"{PACKAGE}.platform.core" in GRAPH[f"{PACKAGE}.platform.messages"]
    assert f"{PACKAGE}.rules.kinds.content" in GRAPH[f"{PACKAGE}.rules.kinds.template"]
    assert f"{PACKAGE}.platform" in GRAPH[f"{PACKAGE}.graph.numbers"]  # under TYPE_CHECKING
    assert GRAPH[f"{PACKAGE}.config"] == set()


def test_no_module_is_over_400_lines() -> None:
    long = {
        str(path.relative_to(ROOT)): lines
        for path in MODULES.values()
        if (lines := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert long == {}
