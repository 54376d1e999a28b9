"""Every public method of the storage Protocols is called by some test in tests/contract,
so a method added to the port without a contract test fails here, by name.

Calls are found with ``ast``. A receiver's Protocol is known from a parameter's annotation
(``store: Store``, ``uow: UnitOfWork``) or from the ``with`` that opened it
(``with store.tables() as t``: any method returning ``AbstractContextManager[<Protocol>]``);
then ``t.audit_head`` counts for ``Tables.audit_head`` only, and a call on a unit of work
also counts for the ``Reader`` it extends. A call on a receiver of unknown type counts for
every Protocol method of that name; reading a property (``names``) counts only on a typed
receiver, as ``table.names`` of a ``schema.Table`` is no call of ``Tables.names``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import mockpay_core.storage.protocol as protocol

CONTRACT_DIR = Path(__file__).parent


class Port:
    """The Protocol classes of a module: their own public methods and properties, their
    Protocol bases, and which methods hand out another Protocol in a ``with``."""

    def __init__(self, source: str) -> None:
        self.methods: dict[str, set[str]] = {}
        self.properties: set[tuple[str, str]] = set()
        self.bases: dict[str, list[str]] = {}
        self.opens: dict[str, str] = {}  # method name -> the Protocol its context yields
        classes = [
            node
            for node in ast.parse(source).body
            if isinstance(node, ast.ClassDef)
            and any(isinstance(b, ast.Name) and b.id == "Protocol" for b in node.bases)
        ]
        for cls in classes:
            defs = [f for f in cls.body if isinstance(f, ast.FunctionDef)]
            self.methods[cls.name] = {f.name for f in defs if not f.name.startswith("_")}
            self.properties |= {
                (cls.name, f.name)
                for f in defs
                if any(isinstance(d, ast.Name) and d.id == "property" for d in f.decorator_list)
            }
            self.bases[cls.name] = [b.id for b in cls.bases if isinstance(b, ast.Name)]
        for cls in classes:
            for f in cls.body:
                if isinstance(f, ast.FunctionDef) and (yields := self._yielded(f.returns)):
                    self.opens[f.name] = yields

    def _yielded(self, returns: ast.expr | None) -> str | None:
        if (
            isinstance(returns, ast.Subscript)
            and isinstance(returns.value, ast.Name)
            and returns.value.id == "AbstractContextManager"
            and isinstance(returns.slice, ast.Name)
            and returns.slice.id in self.methods
        ):
            return returns.slice.id
        return None

    def lineage(self, cls: str) -> Iterator[str]:
        """``cls`` and the Protocols it extends."""
        yield cls
        for base in self.bases.get(cls, []):
            if base in self.methods:
                yield from self.lineage(base)

    def required(self) -> set[tuple[str, str]]:
        return {(cls, name) for cls, names in self.methods.items() for name in names}


def _annotated(annotation: ast.expr | None, port: Port) -> str | None:
    if isinstance(annotation, ast.Constant) and isinstance(annotation.value, str):
        annotation = ast.parse(annotation.value, mode="eval").body
    if isinstance(annotation, ast.Name) and annotation.id in port.methods:
        return annotation.id
    if isinstance(annotation, ast.Attribute) and annotation.attr in port.methods:
        return annotation.attr
    return None


class _Calls(ast.NodeVisitor):
    """(Protocol or None, attribute, called) of every ``receiver.attribute`` in a module."""

    def __init__(self, port: Port) -> None:
        self.port = port
        self.scopes: list[dict[str, str]] = [{}]
        self.found: set[tuple[str | None, str, bool]] = set()
        self._called: set[int] = set()

    def _type_of(self, name: str) -> str | None:
        return next((s[name] for s in reversed(self.scopes) if name in s), None)

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        args = [*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs]
        typed = {a.arg: t for a in args if (t := _annotated(a.annotation, self.port))}
        self.scopes.append(typed)
        self.generic_visit(node)
        self.scopes.pop()

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_With(self, node: ast.With) -> None:
        for item in node.items:
            call = item.context_expr
            if (
                isinstance(call, ast.Call)
                and isinstance(call.func, ast.Attribute)
                and call.func.attr in self.port.opens
                and isinstance(item.optional_vars, ast.Name)
            ):
                self.scopes[-1][item.optional_vars.id] = self.port.opens[call.func.attr]
        self.generic_visit(node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if isinstance(node.target, ast.Name) and (t := _annotated(node.annotation, self.port)):
            self.scopes[-1][node.target.id] = t
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        if isinstance(node.func, ast.Attribute):
            self._called.add(id(node.func))
        self.generic_visit(node)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        receiver = node.value
        kind = self._type_of(receiver.id) if isinstance(receiver, ast.Name) else None
        self.found.add((kind, node.attr, id(node) in self._called))
        self.generic_visit(node)


def uncovered(protocol_source: str, test_sources: list[str]) -> list[str]:
    """``Class.method`` of every public Protocol method no test source calls, sorted."""
    port = Port(protocol_source)
    covered: set[tuple[str, str]] = set()
    for source in test_sources:
        calls = _Calls(port)
        calls.visit(ast.parse(source))
        for kind, name, called in calls.found:
            if kind is not None:
                owners = {(cls, name) for cls in port.lineage(kind)}
            elif called:
                owners = {(cls, name) for cls in port.methods} - port.properties
            else:
                continue
            covered |= owners & port.required()
    return sorted(f"{cls}.{name}" for cls, name in port.required() - covered)


def test_every_protocol_method_has_a_contract_test() -> None:
    sources = [p.read_text() for p in sorted(CONTRACT_DIR.glob("*.py"))]
    missing = uncovered(Path(protocol.__file__).read_text(), sources)
    assert missing == [], (
        f"storage Protocol methods no test in tests/contract calls: {', '.join(missing)}"
        " (a receiver counts as that Protocol when annotated, or opened by a `with`)"
    )


def test_the_port_is_read_whole() -> None:
    """What ``ast`` reads is what Python sees: every Protocol class and public member."""
    port = Port(Path(protocol.__file__).read_text())
    classes = {
        name: cls
        for name, cls in vars(protocol).items()
        if isinstance(cls, type) and getattr(cls, "_is_protocol", False)
        and cls.__module__ == protocol.__name__
    }  # fmt: skip
    assert set(port.methods) == set(classes) >= {"Reader", "UnitOfWork", "Tables", "Store"}
    for name, cls in classes.items():
        public = {n for n in vars(cls) if not n.startswith("_")}
        assert port.methods[name] == public, name
    assert port.opens == {
        "unit_of_work": "UnitOfWork", "reader": "Reader", "batch": "BatchScope",
        "tables": "Tables",
    }  # fmt: skip
    assert ("Tables", "names") in port.properties and ("Store", "in_process") in port.properties


PORT = """
class Reader(Protocol):
    def get(self) -> int: ...
    def audit_head(self) -> str: ...
class UnitOfWork(Reader, Protocol):
    def put(self) -> None: ...
    def _private(self) -> None: ...
class Tables(Protocol):
    @property
    def names(self) -> tuple[str, ...]: ...
    def audit_head(self) -> str: ...
class Store(Protocol):
    def unit_of_work(self) -> AbstractContextManager[UnitOfWork]: ...
    def tables(self) -> AbstractContextManager[Tables]: ...
class NotAPort:
    def ignored(self) -> None: ...
"""


def test_the_check_names_what_is_not_called() -> None:
    assert uncovered(PORT, []) == [
        "Reader.audit_head", "Reader.get", "Store.tables", "Store.unit_of_work",
        "Tables.audit_head", "Tables.names", "UnitOfWork.put",
    ]  # fmt: skip
    typed = """
def test(store: Store) -> None:
    with store.unit_of_work() as uow:
        uow.audit_head()
        uow.put()
    with store.tables() as t:
        t.names
"""
    assert uncovered(PORT, [typed]) == ["Reader.get", "Tables.audit_head"]
    untyped = "def test(x, table) -> None:\n    x.audit_head()\n    x.get()\n    table.names\n"
    assert uncovered(PORT, [untyped]) == sorted(
        ["Store.tables", "Store.unit_of_work", "Tables.names", "UnitOfWork.put"]
    )
    assert uncovered(PORT, [typed, untyped]) == []
    assert uncovered(PORT, ["def f(t: 'Tables'):\n    t.audit_head()\n"]) == sorted(
        ["Reader.audit_head", "Reader.get", "Store.tables", "Store.unit_of_work",
         "Tables.names", "UnitOfWork.put"]
    )  # fmt: skip
