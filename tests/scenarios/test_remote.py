"""``mockpay run --target URL``: library scenarios against a real uvicorn on 127.0.0.1,
on a simulated clock, with webhooks posted to real receivers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mockpay_core.scenarios.loader import load
from mockpay_core.scenarios.remote_run import RemoteRefused, run_remote
from server.testing import RunningServer, running_server

LIBRARY = Path(__file__).resolve().parents[2] / "scenarios"
ADMIN = "remote-scenario-admin-token-0123"
# The scenarios that run against a live server in CI (the others need faults played in
# process, or a longer run than CI should wait for).
REMOTE = ["01-happy-path", "02-concurrent-retries", "03-key-reuse", "07-refund-storm"]


@pytest.fixture
def server() -> Iterator[RunningServer]:
    with running_server(clock="simulated", admin_token=ADMIN, default_fraud_rules=False) as s:
        yield s


@pytest.mark.parametrize("name", REMOTE)
def test_library_scenario_passes_against_a_live_server(
    name: str, server: RunningServer, tmp_path: Path
) -> None:
    result = run_remote(load(LIBRARY / f"{name}.yaml"), tmp_path, server.url, ADMIN)
    failed = [
        f"{e.spec.name}: expected {e.spec.op} {e.spec.value!r}, got {e.error or repr(e.actual)}"
        for e in result.expectations
        if not e.passed
    ]
    assert not failed, "\n".join(failed)
