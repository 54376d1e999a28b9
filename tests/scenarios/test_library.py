"""CI replays every scenario file of the library, each as its own test case."""

from __future__ import annotations

from pathlib import Path

import pytest

from mockpay_core.scenarios.loader import discover, load
from mockpay_core.scenarios.run import run_scenario

LIBRARY = Path(__file__).resolve().parents[2] / "scenarios"
FILES = discover(LIBRARY)


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_scenario_passes_its_expectations(path: Path, tmp_path: Path) -> None:
    result = run_scenario(load(path), tmp_path)
    failed = [
        f"{e.spec.name}: expected {e.spec.op} {e.spec.value!r}, got {e.error or repr(e.actual)}"
        for e in result.expectations
        if not e.passed
    ]
    assert not failed, "\n".join(failed)
    assert result.expectations, "a scenario in the library must check something"


def test_the_library_is_there() -> None:
    assert len(FILES) >= 1
    names = [load(p).name for p in FILES]
    assert len(names) == len(set(names))
