"""``mockpay run --junit-xml FILE``: the report pytest's plugin gives, written without pytest.

One ``testcase`` per scenario (``classname`` its file's path with dots, ``name`` the
scenario's, as pytest names them), a ``failure`` per failed expectation with its name, query,
expected and actual value, an ``error`` for a scenario that could not be played, and one for
each file that could not be read.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Protocol

from mockpay_core.scenarios.model import Scenario
from mockpay_core.scenarios.report import failure_lines
from mockpay_core.scenarios.run import RunResult


class Played(Protocol):
    @property
    def scenario(self) -> Scenario: ...
    @property
    def result(self) -> RunResult | None: ...
    @property
    def error(self) -> str | None: ...


def _case(suite: ET.Element, classname: str, name: str, seconds: float) -> ET.Element:
    attrs = {"classname": classname, "name": name, "time": f"{seconds:.3f}"}
    return ET.SubElement(suite, "testcase", attrs)


def _classname(path: Path) -> str:
    shown = path.resolve()
    if shown.is_relative_to(Path.cwd()):
        shown = shown.relative_to(Path.cwd())
    return shown.as_posix().replace("/", ".")


def report(played: list[tuple[Path, Played]], problems: list[str]) -> ET.ElementTree:
    suite = ET.Element("testsuite", {"name": "mockpay"})
    failures = errors = 0
    for path, p in played:
        result = p.result
        case = _case(suite, _classname(path), p.scenario.name, result.wall_s if result else 0.0)
        if result is None:
            errors += 1
            ET.SubElement(case, "error", {"message": p.error or "not played"}).text = p.error
            continue
        properties = ET.SubElement(case, "properties")
        ET.SubElement(properties, "property", {"name": "run_dir", "value": str(result.run_dir)})
        failed = [e for e in result.expectations if not e.passed]
        failures += bool(failed)
        for e in failed:
            text = "\n".join([f"{e.spec.name}:", *failure_lines(e)])
            ET.SubElement(case, "failure", {"message": text}).text = text
    for problem in problems:
        errors += 1
        path = Path(problem.split(": ", 1)[0])
        case = _case(suite, _classname(path), path.name, 0.0)
        ET.SubElement(case, "error", {"message": "collection failure"}).text = problem
    suite.set("tests", str(len(played) + len(problems)))
    suite.set("failures", str(failures))
    suite.set("errors", str(errors))
    root = ET.Element("testsuites", {"name": "mockpay run"})
    root.append(suite)
    return ET.ElementTree(root)


def write(path: Path, played: list[tuple[Path, Played]], problems: list[str]) -> None:
    tree = report(played, problems)
    ET.indent(tree)
    tree.write(path, encoding="utf-8", xml_declaration=True)
