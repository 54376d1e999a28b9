"""Scenario files for the notebooks: load one with changes, play it, read its verdicts."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from mockpay_core.scenarios.model import Scenario
from mockpay_core.scenarios.run import RunResult, run_scenario

ROOT = Path(__file__).resolve().parent.parent.parent
SCENARIOS = ROOT / "scenarios"
RUNS = ROOT / "runs"


def _merged(base: dict[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in changes.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _merged(out[key], value)
        else:
            out[key] = value
    return out


def load(path: str | Path, **changes: Any) -> Scenario:
    """A scenario file (relative paths are from the project's ``scenarios/``), with
    ``changes`` merged in: ``load("05-webhook-outage.yaml", name="x",
    engine={"retry_schedule": "original"})`` changes only that key of ``engine``."""
    file = Path(path)
    if not file.is_absolute() and not file.exists():
        file = SCENARIOS / file
    data = yaml.safe_load(file.read_text())
    return Scenario.model_validate(_merged(data, changes))


def play(scenario: Scenario | str | Path, out_dir: str | Path = RUNS, **changes: Any) -> RunResult:
    """Play a scenario (a model or a file name) on the engine; its tables land in
    ``out_dir/<name>/``."""
    if not isinstance(scenario, Scenario):
        scenario = load(scenario, **changes)
    elif changes:
        scenario = Scenario.model_validate(_merged(scenario.model_dump(), changes))
    return run_scenario(scenario, Path(out_dir))


def verdicts(result: RunResult) -> list[str]:
    """One line per expectation: PASS or FAIL, its name, and the actual value if it failed
    (a float to four significant digits)."""
    lines = []
    for e in result.expectations:
        line = f"{'PASS' if e.passed else 'FAIL'}  {e.spec.name}"
        if not e.passed:
            got = e.error or (f"{e.actual:.4g}" if isinstance(e.actual, float) else repr(e.actual))
            line += f"  (expected {e.spec.op} {e.spec.value!r}, got {got})"
        lines.append(line)
    return lines
