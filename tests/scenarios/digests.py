"""Fingerprints of a finished scenario run, to prove that a refactor changed nothing.

For each run: the event-log digest, the audit heads, and one digest per exported table
(its rows sorted, so the order a database returns them in does not matter). Runs with
concurrent phases draw ids and timestamps in thread order, so their rows differ run to run;
for those only what concurrency cannot change is kept: each table's row count and the
table's digest with every id-like, time-like or hash-like column left out.

    .venv/bin/python -m tests.scenarios.digests record   # writes digests.json (before)
    .venv/bin/python -m tests.scenarios.digests check    # compares (after), every store

``tests/scenarios/test_library.py`` compares every library run with what was recorded for
its store. The stores differ in one known way: a PostgreSQL sequence does not give back the
numbers of a rolled-back insert, so after a crash ``deliveries.seq`` has a gap there.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import duckdb

from mockpay_core.scenarios.loader import discover, load
from mockpay_core.scenarios.model import Scenario
from mockpay_core.scenarios.run import RunResult, run_scenario

LIBRARY = Path(__file__).resolve().parents[2] / "scenarios"
RECORDED = Path(__file__).with_name("digests.json")
SKIPPED_TABLES = frozenset({"run_info"})  # wall time
# Values that concurrent runs draw in thread order (ids, clock readings, chained hashes).
UNSTABLE_SUFFIXES = ("id", "_at", "hash", "digest", "seq", "key", "payload", "response")


def concurrent(scenario: Scenario) -> bool:
    """Does the scenario play requests on several threads at once?"""
    bursts = any(p.burst is not None and p.burst.concurrency > 1 for p in scenario.phases)
    steps = any(s.concurrency > 1 for s in scenario.steps)
    return bursts or steps


def _stable(column: str) -> bool:
    return not column.endswith(UNSTABLE_SUFFIXES)


def table_digest(con: duckdb.DuckDBPyConnection, table: str, stable_only: bool) -> str:
    names = [r[0] for r in con.execute(f'DESCRIBE "{table}"').fetchall()]
    keep = [i for i, name in enumerate(names) if not stable_only or _stable(name)]
    rows = con.execute(f'SELECT * FROM "{table}"').fetchall()
    lines = sorted(json.dumps([row[i] for i in keep], default=str) for row in rows)
    h = hashlib.sha256()
    for line in lines:
        h.update(line.encode() + b"\n")
    return f"{len(lines)}:{h.hexdigest()[:16]}"


def fingerprint(result: RunResult) -> dict[str, Any]:
    stable_only = concurrent(result.scenario)
    con = duckdb.connect(str(result.run_dir / "run.duckdb"), read_only=True)
    try:
        tables = sorted(
            t
            for (t,) in con.execute("SELECT table_name FROM information_schema.tables").fetchall()
            if t not in SKIPPED_TABLES
        )
        digests = {t: table_digest(con, t, stable_only) for t in tables}
    finally:
        con.close()
    found: dict[str, Any] = {"tables": digests, "passed": result.ok}
    if not stable_only:
        found["event_log_sha256"] = result.event_log_sha256
        found["audit_heads"] = result.audit_heads
    return found


def run_library(db: str | None, out: Path) -> dict[str, Any]:
    return {
        path.stem: fingerprint(run_scenario(load(path), out, db=db)) for path in discover(LIBRARY)
    }


def recorded(store: str, stem: str) -> dict[str, Any] | None:
    """What ``record`` wrote for ``stem`` on ``store`` (``sqlite`` or ``postgres``)."""
    found: dict[str, Any] | None = json.loads(RECORDED.read_text())[store].get(stem)
    return found


def main(argv: list[str]) -> int:
    mode = argv[0] if argv else "check"
    url = os.environ.get("MOCKPAY_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
    stores = {"sqlite": None, "postgres": f"{url}?schema=digest_run"}
    with tempfile.TemporaryDirectory() as tmp:
        found = {name: run_library(db, Path(tmp) / name) for name, db in stores.items()}
    if mode == "record":
        RECORDED.write_text(json.dumps(found, indent=1, sort_keys=True) + "\n")
        print(f"recorded {len(found['sqlite'])} scenarios on {len(found)} stores in {RECORDED}")
        return 0
    bad = [
        f"{store}/{stem}"
        for store, runs in found.items()
        for stem, value in runs.items()
        if value != recorded(store, stem)
    ]
    print("every digest as recorded" if not bad else f"differ: {', '.join(bad)}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
