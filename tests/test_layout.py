"""The import rule, derived from the code: every import (function-level ones included).

cli -> adapters (mkdocs, properdocs, zensical), enrich, render -> plan, source, sidecars,
    config, generator -> model, errors, text, fsutil

render and enrich never import each other; adapters never import enrich; only the
MkDocs adapter imports mkdocs or material, only the Zensical adapter imports zensical,
only enrich.client imports anthropic, and click lives only in cli. No cycles at all.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from conftest import ROOT

PACKAGE = ROOT / "pipeline"

LAYERS = {
    "__main__": 6,
    "cli": 5,
    "mkdocs": 4,
    "properdocs": 4,
    "zensical": 4,
    "enrich": 3,
    "render": 3,
    "plan": 2,
    "source": 2,
    "sidecars": 2,
    "config": 2,
    "generator": 2,
    "model": 1,
    "errors": 1,
    "text": 1,
    "fsutil": 1,
    "__init__": 1,
}
# Units on the same layer may import each other only where listed here.
SAME_LAYER = {
    ("plan", "source"),
    ("plan", "sidecars"),
    ("plan", "config"),
    ("source", "sidecars"),
    ("source", "config"),
    ("config", "source"),
}
# ...and never these: the site a reader gets is rendered without reaching the model.
FORBIDDEN = {("mkdocs", "enrich"), ("properdocs", "enrich"), ("zensical", "enrich")}
THIRD_PARTY_HOME = {
    "mkdocs": {"mkdocs"},
    "material": {"mkdocs"},
    "zensical": {"zensical"},
    "anthropic": {"enrich.client"},
    "click": {"cli", "__main__"},
}


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def imports_of(path: Path) -> set[str]:
    """Every module this file imports, anywhere in it, as absolute dotted names."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    here = module_name(path).split(".")
    package = here if path.name == "__init__.py" else here[:-1]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.add(target)
            # `from pipeline.enrich import ledger` imports the module pipeline.enrich.ledger
            for alias in node.names:
                candidate = f"{target}.{alias.name}"
                if _is_module(candidate):
                    found.add(candidate)
    return found


def _is_module(dotted: str) -> bool:
    if not dotted.startswith("pipeline."):
        return False
    rel = Path(*dotted.split("."))
    return (ROOT / rel).with_suffix(".py").is_file() or (ROOT / rel / "__init__.py").is_file()


def unit_of(module: str) -> str:
    """pipeline.enrich.runner -> 'enrich'; pipeline.enrich.client -> 'enrich' too."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def graph() -> dict[str, set[str]]:
    edges = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        edges[module_name(path)] = imports_of(path)
    return edges


def own_imports(edges: dict[str, set[str]]) -> dict[str, set[str]]:
    # A package __init__ is imported on the way to its modules; it imports nothing here.
    return {
        m: {t for t in ts if t.startswith("pipeline.") and t in edges} for m, ts in edges.items()
    }


def test_every_module_belongs_to_a_known_layer():
    unknown = sorted({unit_of(m) for m in graph()} - set(LAYERS))
    assert unknown == [], f"give these a layer in tests/test_layout.py: {unknown}"


def layer_violations(edges: dict[str, set[str]]) -> list[str]:
    broken = []
    for module, targets in edges.items():
        a = unit_of(module)
        for target in targets:
            b = unit_of(target)
            allowed = a == b or LAYERS[b] < LAYERS[a] or (a, b) in SAME_LAYER
            if allowed and (a, b) not in FORBIDDEN:
                continue
            broken.append(f"{module} -> {target}")
    return sorted(broken)


def test_imports_point_down_the_layers():
    broken = layer_violations(own_imports(graph()))
    assert not broken, "imports against the layer rule:\n  " + "\n  ".join(broken)


def test_the_rule_catches_a_violation():
    """The checker itself: render importing enrich, or source importing plan, is reported."""
    edges = {
        "pipeline.render.html": {"pipeline.enrich.prompts"},
        "pipeline.source.discover": {"pipeline.plan", "pipeline.errors"},
        "pipeline.plan": {"pipeline.source.discover"},
        "pipeline.mkdocs.plugin": {"pipeline.render.html", "pipeline.enrich.client"},
    }
    assert layer_violations(edges) == [
        "pipeline.mkdocs.plugin -> pipeline.enrich.client",
        "pipeline.render.html -> pipeline.enrich.prompts",
        "pipeline.source.discover -> pipeline.plan",
    ]


def test_no_import_cycles():
    edges = own_imports(graph())
    # Package __init__ modules are passed through on import; they import nothing of ours.
    cycles = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append(" -> ".join([*stack[stack.index(nxt) :], nxt]))
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node)
    assert not cycles, "import cycles:\n  " + "\n  ".join(cycles)


@pytest.mark.parametrize("library", sorted(THIRD_PARTY_HOME))
def test_third_party_imports_stay_home(library):
    homes = THIRD_PARTY_HOME[library]
    outside = []
    for module, targets in graph().items():
        rest = module.removeprefix("pipeline.")
        if not any(t == library or t.startswith(library + ".") for t in targets):
            continue
        if not any(rest == h or rest.startswith(h + ".") for h in homes):
            outside.append(module)
    assert outside == [], f"{library} imported outside {sorted(homes)}: {outside}"
