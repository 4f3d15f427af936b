"""What a fresh install needs is declared (issue 15 §5): imports in pyproject, pins in constraints.txt."""

from __future__ import annotations

import ast
import re
import sys
from importlib.metadata import packages_distributions
from pathlib import Path

import tomllib

from opscheck.runner.invoke import SUITE_PLUGINS

ROOT = Path(__file__).resolve().parent.parent
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
LOCAL = {"opscheck", "fixtures", "tests", "benchmarks", "checks"}


def _name(requirement: str) -> str:
    return re.split(r"[\s\[<>=!~;]", requirement, maxsplit=1)[0]


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def declared(*extras: str) -> set[str]:
    names = {_normal(_name(r)) for r in PROJECT["dependencies"]}
    for extra in extras:
        names |= {_normal(_name(r)) for r in PROJECT["optional-dependencies"][extra]}
    return names


OPTIONAL = {"ImportError", "ModuleNotFoundError"}


def _optional(tree: ast.AST) -> set[int]:
    """Imports inside `try: … except ImportError:` — optional, used only when installed
    (benchmarks/latency_options.py compares with pycurl if someone installed it)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Try) and any(
            isinstance(h.type, ast.Name) and h.type.id in OPTIONAL
            or isinstance(h.type, ast.Tuple) and any(isinstance(e, ast.Name) and e.id in OPTIONAL for e in h.type.elts)
            for h in node.handlers
        ):
            found |= {id(inner) for stmt in node.body for inner in ast.walk(stmt)}
    return found


def imported(*folders: str) -> set[str]:
    """Top-level module names imported anywhere (lazy imports inside functions included; optional
    imports guarded by `except ImportError` left out)."""
    names = set()
    for folder in folders:
        for path in (ROOT / folder).rglob("*.py"):
            tree = ast.parse(path.read_text(), str(path))
            optional = _optional(tree)
            for node in ast.walk(tree):
                if id(node) in optional:
                    continue
                if isinstance(node, ast.Import):
                    names |= {alias.name.split(".")[0] for alias in node.names}
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names.add(node.module.split(".")[0])
    return names - set(sys.stdlib_module_names) - LOCAL


def undeclared(modules: set[str], allowed: set[str]) -> dict[str, list[str]]:
    """module -> its distributions, for modules installed from a distribution nobody declared."""
    owners = packages_distributions()
    missing = {}
    for module in sorted(modules):
        dists = [_normal(d) for d in owners.get(module, [])]
        if not dists:
            missing[module] = ["<not installed>"]
        elif not set(dists) & allowed:
            missing[module] = dists
    return missing


def test_library_imports_are_runtime_dependencies():
    """Was: urllib3 (and pytest_metadata, until report.html became our own) imported, installed only as
    someone else's dependency."""
    modules = imported("src", "checks", "fixtures") | {name.split(".")[0] for name in SUITE_PLUGINS}
    assert {"urllib3", "yaml", "testinfra"} <= modules
    assert undeclared(modules - LOCAL, declared()) == {}


def test_test_imports_are_declared_with_the_test_extra():
    # Modules the tests write and import themselves inside pytester folders are not installed.
    modules = {m for m in imported("tests", "benchmarks") if m in packages_distributions()}
    assert {"pytest", "aiosmtpd", "pymemcache"} <= modules
    assert undeclared(modules, declared("test")) == {}


def test_constraints_pin_every_declared_dependency():
    """constraints.txt comes from .ci/lock.sh; a dependency added without re-locking fails here."""
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, sep, version = line.partition("==")
            assert sep and version, f"constraints.txt: {line!r} is not an exact pin"
            pins[_normal(name)] = version
    assert "opscheck" not in pins
    missing = sorted(declared("test", "ansible") - set(pins))
    assert missing == [], f"not pinned in constraints.txt: {missing}; run .ci/lock.sh"


def test_requires_python_is_what_ci_runs():
    """CI runs python3 (3.11 on Debian 12); the floor says so and nothing older is claimed."""
    assert PROJECT["requires-python"] == ">=3.11"
    assert sys.version_info >= (3, 11)
