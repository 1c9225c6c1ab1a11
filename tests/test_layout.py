"""The house keeps its plan: no import circle, small modules, no private names borrowed.

A newcomer maps the code from the README's Layout section; these checks keep that map true
as features land (each needs an obvious room, not a longer module).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = {"gates": "mlgate.gates", "action": "mlgate.action"}
MAX_LINES = 450


def _modules() -> dict[str, tuple[Path, bool]]:
    found = {}
    for folder, package in PACKAGES.items():
        for path in sorted((REPO / folder).rglob("*.py")):
            if "__pycache__" in path.parts:
                continue
            parts = [p for p in path.relative_to(REPO / folder).with_suffix("").parts if p != "__init__"]
            found[".".join([package, *parts])] = (path, path.name == "__init__.py")
    return found


MODULES = _modules()


def _imports(name: str) -> list[tuple[str, list[str]]]:
    """Module-level ``from`` imports of ``name``, as (absolute module, imported names)."""
    path, is_package = MODULES[name]
    package = name if is_package else name.rsplit(".", 1)[0]
    out = []
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[:len(package.split(".")) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            out.append((module, [a.name for a in node.names]))
    return out


def test_the_house_has_no_import_circle():
    graph = {}
    for name in MODULES:
        deps = set()
        for module, names in _imports(name):
            for imported in names:
                target = f"{module}.{imported}"
                deps.add(target if target in MODULES else module)
        graph[name] = {d for d in deps if d in MODULES and d != name}
    seen, on_path, cycles = set(), [], []

    def visit(node):
        if node in on_path:
            cycles.append(on_path[on_path.index(node):] + [node])
            return
        if node in seen:
            return
        seen.add(node)
        on_path.append(node)
        for dep in sorted(graph[node]):
            visit(dep)
        on_path.pop()

    for name in sorted(graph):
        visit(name)
    assert cycles == [], " ; ".join(" → ".join(c) for c in cycles)


@pytest.mark.parametrize("name", sorted(MODULES))
def test_modules_stay_small(name):
    lines = len(MODULES[name][0].read_text().splitlines())
    assert lines <= MAX_LINES, f"{name} has {lines} lines; split it along its concerns (README: Layout)"


def test_no_private_name_is_imported_from_another_module():
    borrowed = [f"{name} imports {imported} from {module}"
                for name in MODULES for module, names in _imports(name)
                if module.startswith("mlgate.") for imported in names
                if imported.startswith("_") and not imported.startswith("__")]
    assert borrowed == []


def test_the_core_never_imports_the_edge():
    reaching = [f"{name} imports {module}" for name in MODULES if name.startswith("mlgate.gates")
                for module, _ in _imports(name) if module.startswith("mlgate.action")]
    assert reaching == []
