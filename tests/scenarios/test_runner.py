"""The runner: determinism, tables, analysis, clear errors."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from mockpay_core import analysis
from mockpay_core.scenarios.model import Scenario
from mockpay_core.scenarios.run import compare, run_scenario
from mockpay_core.scenarios.runner import ScenarioError

TRAFFIC = {
    "name": "traffic",
    "seed": 11,
    "tenants": [{"name": "acme"}, {"name": "globex", "receiver": "flaky"}],
    "receivers": [{"name": "main"}, {"name": "flaky", "error_rate": 0.3}],
    "phases": [
        {
            "name": "steady", "tenant": "acme", "duration": "2m",
            "arrival": {"kind": "poisson", "rate_per_s": 2},
            "amount": {"kind": "lognormal", "value": 40},
            "currencies": {"USD": 0.5, "JPY": 0.5},
            "customers": {"count": 20},
            "client_retries": {"share": 0.2, "delay": "3s"},
            "outcome": {"success_p": 0.8, "refund": {"p": 0.3, "share": 0.5},
                        "dispute": {"p": 0.1}},
        },
        {
            "name": "manual", "tenant": "globex", "duration": "1m", "capture_method": "manual",
            "arrival": {"kind": "constant", "rate_per_s": 1},
            "outcome": {"capture": {"p": 0.5, "share": 0.5}},
        },
    ],
    "settle": "9d",
}  # fmt: skip


def test_the_same_file_and_seed_replay_byte_for_byte(tmp_path: Path) -> None:
    scenario = Scenario.model_validate(TRAFFIC)
    first = run_scenario(scenario, tmp_path / "a")
    second = run_scenario(scenario, tmp_path / "b", memory=True)
    assert first.event_log_sha256 == second.event_log_sha256
    assert first.audit_heads == second.audit_heads and all(first.audit_heads.values())
    other = run_scenario(scenario.model_copy(update={"seed": 12}), tmp_path / "c")
    assert other.event_log_sha256 != first.event_log_sha256
    counts = first.counts
    assert counts["payments"]["canceled"] > 0  # uncaptured authorizations expired
    assert counts["deliveries"] == {"delivered": sum(counts["deliveries"].values())}


def test_a_run_opens_in_duckdb_and_polars(tmp_path: Path) -> None:
    result = run_scenario(Scenario.model_validate(TRAFFIC), tmp_path)
    run = result.run_dir
    assert {"payments", "events", "received", "client_requests", "audit_verification"} <= set(
        analysis.tables(run)
    )
    payments = analysis.table(run, "payments")
    assert isinstance(payments, pl.DataFrame) and payments.height > 100
    assert payments.schema["created_at"] == pl.Datetime("us")
    by_sql = analysis.query(run, "SELECT count(*) AS n FROM payments")
    assert by_sql["n"][0] == payments.height
    with analysis.duckdb_run(run) as con:
        replayed = con.execute("SELECT count(*) FROM client_requests WHERE replayed").fetchone()
    assert replayed is not None and replayed[0] > 0  # the clients' duplicate retries
    with pytest.raises(KeyError, match="no table"):
        analysis.table(run, "nope")
    with pytest.raises(FileNotFoundError):
        analysis.duckdb_run(tmp_path)


def test_a_postgres_run_is_the_same_run(tmp_path: Path, postgres_schema: tuple[str, str]) -> None:
    """The same file and seed on PostgreSQL: the same event log, audit heads and tables, and
    it opens in DuckDB and Polars the same way."""
    url, schema = postgres_schema
    scenario = Scenario.model_validate(TRAFFIC)
    on_file = run_scenario(scenario, tmp_path / "file")
    on_pg = run_scenario(scenario, tmp_path / "pg", db=f"{url}?schema={schema}")
    assert on_pg.event_log_sha256 == on_file.event_log_sha256
    assert on_pg.audit_heads == on_file.audit_heads
    assert on_pg.counts == on_file.counts
    assert analysis.tables(on_pg.run_dir) == analysis.tables(on_file.run_dir)
    for table in ("payments", "audit_log", "events", "deliveries", "delivery_attempts"):
        order = ["seq"] if table == "deliveries" else ["id"]
        pg = analysis.table(on_pg.run_dir, table).sort(order)
        assert pg.equals(analysis.table(on_file.run_dir, table).sort(order)), table
    sql = "SELECT status, count(*) AS n FROM payments GROUP BY 1 ORDER BY 1"
    assert analysis.query(on_pg.run_dir, sql).equals(analysis.query(on_file.run_dir, sql))


def test_failing_expectations_say_what_and_why(tmp_path: Path) -> None:
    scenario = Scenario.model_validate({
        "name": "expect", "tenants": [{"name": "a"}],
        "steps": [{"do": "create", "tenant": "a", "key": "k", "amount": 5}],
        "expectations": [
            {"name": "right", "sql": "SELECT amount_minor FROM payments", "value": 500},
            {"name": "wrong", "sql": "SELECT count(*) FROM payments", "op": ">", "value": 1},
            {"name": "broken", "sql": "SELECT nope FROM payments", "value": 1},
        ],
    })  # fmt: skip
    right, wrong, broken = run_scenario(scenario, tmp_path).expectations
    assert right.passed and not wrong.passed and wrong.actual == 1
    assert not broken.passed and "nope" in (broken.error or "")


def test_a_step_on_an_unknown_payment_is_a_clear_error(tmp_path: Path) -> None:
    scenario = Scenario.model_validate({
        "name": "unknown", "tenants": [{"name": "a"}],
        "steps": [{"do": "refund", "tenant": "a", "payment": "never-created", "amount": 1}],
    })  # fmt: skip
    with pytest.raises(ScenarioError, match="never-created"):
        run_scenario(scenario, tmp_path)


@pytest.mark.parametrize(
    ("actual", "op", "expected", "passed"),
    [
        (5, "==", 5.0, True),
        (5, ">", 4, True),
        ("a", "==", "a", True),
        ("a", "<", 1, False),
        (None, "==", None, True),
        (True, "==", True, True),
        (2.5, "<=", 2, False),
    ],
)
def test_compare(actual: object, op: str, expected: object, passed: bool) -> None:
    assert compare(actual, op, expected) is passed
