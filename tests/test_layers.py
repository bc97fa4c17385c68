"""Imports point down: ``mockserver.spec`` ← ``core`` (the domain) ← ``http`` (framework-free
HTTP semantics) ← the adapters ``serve`` (aiohttp, CLI, TLS), ``proxy`` (the validating proxy)
and ``testing`` (respx, pytest plugin, control client, launcher). Every import of a mockserver
module is checked, function-level and type-checking-only ones included."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "mockserver"
#: ``clause_ids`` is the contract's vocabulary of clause names, beside the spec; ``proxy`` is an
#: adapter like ``serve``: it sits between a client and a deployment.
FLOOR = {"spec": 0, "clause_ids": 0, "core": 1, "http": 2, "serve": 3, "testing": 3, "proxy": 3}
#: The only imports between the two adapter layers, and why.
ACROSS = {
    # The launcher starts the aiohttp app in-process (serve_in_process) for tests.
    ("mockserver.testing.process", "mockserver.serve.app"),
    # The CLI waits for its worker processes with the one control client (stdlib only).
    ("mockserver.serve.cli", "mockserver.testing.sdk_kit"),
    # cbk-mock hosts the proxy's subcommands (proxy, parity).
    ("mockserver.serve.cli", "mockserver.proxy.cli"),
    # The proxy reads requests and answers what it refuses exactly as the live server does.
    ("mockserver.proxy.server", "mockserver.serve.app"),
    # The launcher of a proxy subprocess reads the proxy's banner prefix.
    ("mockserver.testing.process", "mockserver.proxy.cli"),
}
#: Entry points above every layer: the lazy package exports and ``python -m mockserver``.
ENTRY_POINTS = {"mockserver", "mockserver.__main__"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_module(name: str) -> bool:
    relative = Path(*name.split("."))
    return (PACKAGE.parent / relative).with_suffix(".py").is_file() or (
        PACKAGE.parent / relative / "__init__.py"
    ).is_file()


def _imports(path: Path) -> set[str]:
    """The mockserver modules ``path`` imports (``from pkg import module`` as the module)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                found.add(submodule if _is_module(submodule) else node.module)
    return {name for name in found if name == "mockserver" or name.startswith("mockserver.")}


def _layer(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in FLOOR else None


MODULES = {_module_name(path): _imports(path) for path in sorted(PACKAGE.rglob("*.py"))}


def test_the_walk_sees_every_layer():
    assert {_layer(module) for module in MODULES} >= set(FLOOR)


@pytest.mark.parametrize("module", sorted(m for m in MODULES if m not in ENTRY_POINTS))
def test_imports_point_down(module):
    layer = _layer(module)
    assert layer is not None, f"{module} is in no layer"
    upward = sorted(
        imported
        for imported in MODULES[module]
        if imported != "mockserver"
        and (module, imported) not in ACROSS
        and (
            _layer(imported) is None
            or FLOOR[_layer(imported)] > FLOOR[layer]
            or (FLOOR[_layer(imported)] == FLOOR[layer] and _layer(imported) != layer)
        )
    )
    assert upward == [], f"{module} imports {upward}"


def test_core_imports_only_core_and_the_spec():
    for module, imported in MODULES.items():
        if _layer(module) == "core":
            assert {_layer(name) for name in imported} <= {"core", "spec"}, module


def test_the_control_client_imports_only_the_stdlib_dev_module():
    assert MODULES["mockserver.testing.sdk_kit"] == {"mockserver.core.dev"}
    assert MODULES["mockserver.core.dev"] == set()


def test_the_spec_imports_nothing_of_the_mock():
    assert MODULES["mockserver.spec"] == set()
