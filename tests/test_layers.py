"""Data flows one way: inventory → probe → measurement → verdict → listener → writers.

Every module of `src/opscheck` belongs to one layer; a module may import from its
own layer and the layers before it, never from a later one (a back-edge). The
check reads each module's imports with `ast`, including imports inside functions.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src"

# Earliest first. A module's layer is the longest prefix that names it.
LAYERS: tuple[tuple[str, ...], ...] = (
    # facts every layer shares: units, verdicts, thresholds, what a probe returns, redaction, hosts
    ("opscheck.errors", "opscheck.units", "opscheck.verdict", "opscheck.threshold", "opscheck.redact",
     "opscheck.measurement", "opscheck.host", "opscheck.connect", "opscheck.extensions", "opscheck.wireclock",
     "opscheck.proxyenv", "opscheck.hostagent"),
    ("opscheck.inventory",),  # what to check
    ("opscheck.targets", "opscheck.registry", "opscheck.measuring"),  # kinds, their targets, running probes
    ("opscheck.probes",),  # measure: facts with evidence
    ("opscheck.result", "opscheck.recording", "opscheck.judging"),  # the one layer that decides verdicts
    ("opscheck.reports",),  # writers: one per format, reading plain run data
    ("opscheck.plugin",),  # the pytest listener: hands results to the writers
    ("opscheck.notify", "opscheck.runner", "opscheck.serve", "opscheck.cli", "opscheck", "opscheck.__main__"),
)


def layer_of(module: str) -> int:
    best, rank = -1, None
    for index, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best:
                best, rank = len(prefix), index
    assert rank is not None, f"{module} is in no layer: add it to LAYERS"
    return rank


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(path: Path, module: str) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                name = f"{base}.{node.module}" if node.module else base
            else:
                name = node.module or ""
            for alias in node.names:
                # `from opscheck.plugin import waivers` imports a submodule; `import is_check`, the package's __init__.
                submodule = f"{name}.{alias.name}"
                found.add(submodule if _is_module(submodule) else (f"{name}.__init__" if _is_package(name) else name))
    return {name for name in found if name.split(".")[0] == "opscheck"}


def _version_only(path: Path) -> set[str]:
    """`from opscheck import __version__` reads a constant, not the package's API."""
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "opscheck" and any(a.name != "__version__" for a in node.names):
            return set()
    return {"opscheck.__init__"}


def _is_module(name: str) -> bool:
    base = SRC.joinpath(*name.split("."))
    return base.with_suffix(".py").exists() or (base / "__init__.py").exists()


def _is_package(name: str) -> bool:
    return (SRC.joinpath(*name.split(".")) / "__init__.py").exists()


def back_edges() -> list[str]:
    edges = []
    last = len(LAYERS) - 1
    for path in sorted(SRC.rglob("*.py")):
        module = module_name(path)
        own = layer_of(module)
        for target in sorted(imports(path, module) - _version_only(path)):
            name = target.removesuffix(".__init__")
            # Below the applications, a package's __init__ is its face to others, not to its own modules.
            if target.endswith(".__init__") and module.startswith(name + ".") and own < last:
                # A submodule importing its own package's __init__ (plugin/reporting -> plugin).
                edges.append(f"{module} -> {name} (its package's __init__)")
            elif layer_of(name) > own:
                edges.append(f"{module} -> {name}")
    return edges


def test_every_module_has_a_layer():
    for path in SRC.rglob("*.py"):
        layer_of(module_name(path))


def test_no_import_runs_against_the_data_flow():
    assert back_edges() == []


def test_a_back_edge_is_found(tmp_path, monkeypatch):
    """The check itself can fail: an inventory module importing a probe is reported."""
    fake = tmp_path / "src"
    (fake / "opscheck" / "inventory").mkdir(parents=True)
    (fake / "opscheck" / "probes").mkdir(parents=True)
    (fake / "opscheck" / "__init__.py").write_text("")
    (fake / "opscheck" / "inventory" / "__init__.py").write_text("from opscheck.probes import tls\n")
    (fake / "opscheck" / "probes" / "__init__.py").write_text("")
    (fake / "opscheck" / "probes" / "tls.py").write_text("")
    monkeypatch.setattr(__import__(__name__), "SRC", fake)
    assert back_edges() == ["opscheck.inventory -> opscheck.probes.tls"]
