"""Nobody goes around the storage port.

Outside ``mockpay_core/storage/`` no module imports a database driver or an adapter, asks a
store for its raw connection, or branches on which adapter it holds: what a caller needs is in
the Protocol. The exceptions are named: the scenario runner's own client log
(``scenarios/requests.py``) is a file of the runner's, not the engine's store.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("mockpay_core", "server")
STORAGE = Path("mockpay_core/storage")
DRIVER_ALLOWED = {Path("mockpay_core/scenarios/requests.py")}
DRIVERS = {"sqlite3", "psycopg", "psycopg_pool"}
ADAPTERS = {"SqliteStore", "PostgresStore"}
ADAPTER_MODULES = ("mockpay_core.storage.sqlite", "mockpay_core.storage.postgres")


def _sources() -> list[Path]:
    found = [p.relative_to(ROOT) for pkg in PACKAGES for p in sorted((ROOT / pkg).rglob("*.py"))]
    return [p for p in found if STORAGE not in p.parents]


def _imports(tree: ast.AST) -> list[str]:
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
            names += [f"{node.module}.{a.name}" for a in node.names]
    return names


def violations(path: Path, source: str) -> list[str]:
    """What in one module goes around the port (empty when nothing does)."""
    tree = ast.parse(source, filename=str(path))
    found: list[str] = []
    for name in _imports(tree):
        if name.split(".")[0] in DRIVERS and path not in DRIVER_ALLOWED:
            found.append(f"imports the driver {name}")
        if name.startswith(ADAPTER_MODULES) or name.rsplit(".", 1)[-1] in ADAPTERS:
            found.append(f"imports the adapter {name}")
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr == "raw_connection":
            found.append(f"line {node.lineno}: calls raw_connection()")
        if isinstance(node, ast.Name) and node.id in ADAPTERS:
            found.append(f"line {node.lineno}: names the adapter {node.id}")
    return found


@pytest.mark.parametrize("path", _sources(), ids=str)
def test_no_module_outside_storage_goes_around_the_port(path: Path) -> None:
    assert violations(path, (ROOT / path).read_text()) == []


@pytest.mark.parametrize(
    "source, what",
    [
        ("import sqlite3", "driver"),
        ("from psycopg import sql", "driver"),
        ("from mockpay_core.storage.sqlite import SqliteStore", "adapter"),
        ("from mockpay_core.storage.postgres.store import PostgresStore", "adapter"),
        ("def f(store):\n    return store.raw_connection()", "raw_connection"),
        ("def f(store):\n    return isinstance(store, SqliteStore)", "adapter"),
    ],
)
def test_the_check_catches_each_way_around(source: str, what: str) -> None:
    found = violations(Path("server/x.py"), source)
    assert found and all(what in v for v in found)


def test_the_named_exception_is_the_only_one() -> None:
    assert violations(Path("mockpay_core/scenarios/requests.py"), "import sqlite3") == []
    assert violations(Path("mockpay_core/scenarios/run.py"), "import sqlite3") != []
