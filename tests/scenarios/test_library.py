"""CI replays every scenario file of the library, each as its own test case."""

from __future__ import annotations

from pathlib import Path

import pytest

from mockpay_core.scenarios.loader import discover, load
from mockpay_core.scenarios.run import run_scenario
from tests.scenarios import digests

LIBRARY = Path(__file__).resolve().parents[2] / "scenarios"
FILES = discover(LIBRARY)


@pytest.fixture(params=["sqlite-file", "postgres"])
def run_db(request: pytest.FixtureRequest) -> str | None:
    """Where a scenario plays: an SQLite file in the run's folder, or a PostgreSQL schema."""
    if request.param == "postgres":
        url, schema = request.getfixturevalue("postgres_schema")
        return f"{url}?schema={schema}"
    return None


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_scenario_passes_its_expectations(path: Path, tmp_path: Path, run_db: str | None) -> None:
    result = run_scenario(load(path), tmp_path, db=run_db)
    failed = [
        f"{e.spec.name}: expected {e.spec.op} {e.spec.value!r}, got {e.error or repr(e.actual)}"
        for e in result.expectations
        if not e.passed
    ]
    assert not failed, "\n".join(failed)
    assert result.expectations, "a scenario in the library must check something"
    store = "sqlite" if run_db is None else "postgres"
    assert digests.fingerprint(result) == digests.recorded(store, path.stem), (
        f"{path.stem} on {store} no longer gives the recorded event log, audit heads and"
        " tables (tests/scenarios/digests.json): a refactor changed behaviour"
    )


def test_the_library_is_there() -> None:
    assert len(FILES) >= 1
    names = [load(p).name for p in FILES]
    assert len(names) == len(set(names))
