"""The docs' examples run, and the tables they show are the code's own."""

from __future__ import annotations

import doctest
import re
from pathlib import Path

import pytest
import yaml

import mockpay_core.engine
from mockpay_core import docs
from mockpay_core.errors import ERROR_CODES
from mockpay_core.scenarios.loader import load
from mockpay_core.scenarios.model import Scenario
from mockpay_core.scenarios.run import run_scenario

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def test_readme_python_examples_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocks = re.findall(r"```python\n(.*?)```", README, re.S)
    assert len(blocks) >= 2
    monkeypatch.chdir(tmp_path)  # the analysis example reads runs/happy-path
    run_scenario(load(ROOT / "scenarios" / "01-happy-path.yaml"), Path("runs"))
    sweeps = [b for b in re.findall(r"```yaml\n(.*?)```", README, re.S) if "\nsweep:" in b]
    (tmp_path / "runs" / "sweep-example.yaml").write_text(sweeps[0])  # the sweep example's
    for block in blocks:
        exec(compile(block, "README.md", "exec"), {})


def test_readme_shows_the_transition_table_itself() -> None:
    assert docs.transition_table_markdown() in README


def test_readme_lists_every_error_code() -> None:
    section = README.split("## Errors", 1)[1].split("\n## ", 1)[0]
    listed = set(re.findall(r"^\| `([a-z_]+)` \|", section, re.M))
    assert listed == set(ERROR_CODES) - {"mockpay_error", "conflict"}


def test_engine_docstring_example() -> None:
    assert doctest.testmod(mockpay_core.engine).failed == 0


def test_mermaid_diagram_has_one_arrow_per_edge() -> None:
    assert (
        docs.transition_diagram_mermaid().count("-->")
        == docs.transition_table_markdown().count("\n") - 1
    )


def test_readme_scenario_examples_are_valid_and_pass(tmp_path: Path) -> None:
    blocks = re.findall(r"```yaml\n(.*?)```", README, re.S)
    assert blocks
    for block in blocks:
        scenario = Scenario.model_validate(yaml.safe_load(block))
        assert run_scenario(scenario, tmp_path).ok


def test_readme_shows_the_tested_testing_helpers() -> None:
    source = (ROOT / "tests" / "server" / "test_testing_helpers.py").read_text()
    blocks = re.findall(r"# README: [^\n]*\n(.*?)# README: end", source, re.S)
    assert len(blocks) == 2
    for block in blocks:
        assert block.rstrip() in README
