"""Scenario files as pytest tests (the plugin is installed with the package).

``pytest scenarios/`` (or any path) collects every file matching the ini option
``mockpay_scenario_files`` (default ``scenarios/*.yaml``: a ``.yaml`` file in a folder named
``scenarios``, so other YAML in a suite is left alone) as one test item per scenario, named
after the scenario. The item plays the scenario on the engine and reports each expectation
as a sub-result of its own (pytest's subtests); a failing one shows its query, the expected
and the actual value. ``-k``, ``-x``, ``--junitxml`` and pytest-xdist's ``-n`` work as on any
test. ``--mockpay-db postgresql://...`` plays them on PostgreSQL instead of an SQLite file.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path, PurePath
from typing import Any

import pytest

from mockpay_core.scenarios import loader
from mockpay_core.scenarios.model import Scenario
from mockpay_core.scenarios.report import failure_lines
from mockpay_core.scenarios.run import RunResult, run_scenario
from mockpay_core.scenarios.runner import ScenarioError

FILES_DEFAULT = "scenarios/*.yaml"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        "mockpay_scenario_files",
        "glob (matched from the right of each path) of the scenario files collected as tests",
        default=FILES_DEFAULT,
    )
    group = parser.getgroup("mockpay", "MockPay Lab scenarios")
    group.addoption(
        "--mockpay-db",
        default=None,
        help="play collected scenario files on this PostgreSQL database (postgresql://...)"
        " instead of an SQLite file in each test's tmp_path",
    )


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> ScenarioFile | None:
    pattern = str(parent.config.getini("mockpay_scenario_files"))
    if file_path.suffix in loader.SUFFIXES and PurePath(file_path).match(pattern):
        found: ScenarioFile = ScenarioFile.from_parent(parent, path=file_path)
        return found
    return None


class ScenarioFile(pytest.File):
    """One scenario file: one item, or a collection error listing every problem in it."""

    def collect(self) -> Iterator[pytest.Item]:
        try:
            scenario = loader.load(self.path)
        except loader.ScenarioFileError as exc:
            raise self.CollectError(str(exc)) from None
        item = ScenarioItem.from_parent(self, name=scenario.name, callobj=_play)
        item.scenario = scenario
        yield item


class ScenarioItem(pytest.Function):
    """A scenario played as a test function, so fixtures (``tmp_path``, ``subtests``) work."""

    scenario: Scenario

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, f"scenario {self.name}"


@pytest.fixture
def mockpay_scenario(request: pytest.FixtureRequest) -> Scenario:
    """The scenario of the collected file being played."""
    node = request.node
    assert isinstance(node, ScenarioItem), "only scenario files' items have a scenario"
    return node.scenario


def _play(
    mockpay_scenario: Scenario,
    tmp_path: Path,
    subtests: pytest.Subtests,
    request: pytest.FixtureRequest,
) -> None:
    try:
        result = run_scenario(mockpay_scenario, tmp_path, db=request.config.option.mockpay_db)
    except ScenarioError as exc:
        pytest.fail(f"{mockpay_scenario.name}: {exc}", pytrace=False)
    request.node.user_properties.append(("run_dir", str(result.run_dir)))
    check_expectations(result, subtests)


def check_expectations(result: RunResult, subtests: Any) -> None:
    """One sub-result per expectation; a failure names its query, expected and actual."""
    if not result.expectations:
        pytest.fail(f"{result.scenario.name} has no expectations: it checks nothing")
    for e in result.expectations:
        with subtests.test(msg=e.spec.name):
            if not e.passed:
                pytest.fail("\n".join([f"{e.spec.name}:", *failure_lines(e)]), pytrace=False)
