"""``mockpay run --target URL``: library scenarios against a real uvicorn on 127.0.0.1,
on a simulated clock, with webhooks posted to real receivers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from mockpay_core.cli import main
from mockpay_core.errors import AmountExceeded, IdempotencyKeyReused, MockPayError
from mockpay_core.scenarios.loader import load
from mockpay_core.scenarios.model import Scenario
from mockpay_core.scenarios.remote import error_from_response
from mockpay_core.scenarios.remote_run import RemoteRefused, run_remote
from server.testing import RunningServer, running_server

LIBRARY = Path(__file__).resolve().parents[2] / "scenarios"
ADMIN = "remote-scenario-admin-token-0123"
SLOW = pytest.mark.scale  # thousands of requests and clock stops: a minute or two each
# The library scenarios CI plays against a live server. Crash-restart and audit-tampering
# need faults played in process; card-testing's 100 KB of velocity checks is left to the
# engine target.
REMOTE = [
    "01-happy-path", "02-concurrent-retries", "03-key-reuse", "07-refund-storm",
    pytest.param("05-webhook-outage", marks=SLOW), pytest.param("06-flapping-receiver", marks=SLOW),
    pytest.param("08-authorization-expiry", marks=SLOW),
]  # fmt: skip


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
    assert (tmp_path / result.scenario.name / "payments.parquet").exists()


def test_a_scenario_passes_against_a_server_on_postgresql(
    postgres_schema: tuple[str, str], tmp_path: Path
) -> None:
    """The export route reads PostgreSQL's tables too."""
    url, schema = postgres_schema
    with running_server(
        clock="simulated", admin_token=ADMIN, default_fraud_rules=False,
        db=f"{url}?schema={schema}",
    ) as server:  # fmt: skip
        result = run_remote(load(LIBRARY / "07-refund-storm.yaml"), tmp_path, server.url, ADMIN)
    assert result.ok, [(e.spec.name, e.actual, e.error) for e in result.expectations]
    assert result.counts["payments"]


def test_a_second_run_on_the_same_server_sees_only_its_own_tenants(
    server: RunningServer, tmp_path: Path
) -> None:
    scenario = load(LIBRARY / "03-key-reuse.yaml")
    run_remote(scenario, tmp_path, server.url, ADMIN)
    again = run_remote(scenario, tmp_path, server.url, ADMIN)  # the clock has moved on
    assert again.ok
    assert again.counts["payments"] == {"success": 1}


def test_what_a_server_cannot_do_is_refused_up_front_by_field(
    server: RunningServer, tmp_path: Path
) -> None:
    crash = load(LIBRARY / "09-crash-restart.yaml")
    other = Scenario.model_validate({
        "name": "other-settings", "tenants": [{"name": "a"}], "faults": [{"kind": "tamper_audit"}],
        "engine": {"retry_schedule": "original", "authorization_ttl": "1d",
                   "idempotency_ttl": "1h", "webhook_timeout_s": 2, "payout_failure_p": 0.5},
    })  # fmt: skip
    with pytest.raises(RemoteRefused) as refused:
        run_remote(crash, tmp_path, server.url, ADMIN)
    assert refused.value.problems == [
        "faults.0.kind: crash runs only in process (--target engine): a live server cannot be"
        " made to die mid-transaction from outside",
        "faults.1.kind: crash runs only in process (--target engine): a live server cannot be"
        " made to die mid-transaction from outside",
        "faults.2.kind: database_busy runs only in process (--target engine): a live server's"
        " database cannot be made busy from outside",
    ]
    with pytest.raises(RemoteRefused) as refused:
        run_remote(other, tmp_path, server.url, ADMIN)
    fields = [p.split(":")[0] for p in refused.value.problems]
    assert fields == ["faults.0.kind", "engine.retry_schedule", "engine.webhook_timeout_s",
                      "engine.authorization_ttl", "engine.idempotency_ttl",
                      "engine.payout_failure_p"]  # fmt: skip
    assert not (tmp_path / "other-settings").exists()  # nothing was sent


def test_a_server_on_the_system_clock_or_with_default_rules_is_refused(tmp_path: Path) -> None:
    scenario = load(LIBRARY / "03-key-reuse.yaml")  # default_fraud_rules: false
    with (
        running_server(admin_token=ADMIN) as system,
        pytest.raises(RemoteRefused, match="system clock: start it with `mockpay serve"),
    ):
        run_remote(scenario, tmp_path, system.url, ADMIN)
    with running_server(admin_token=ADMIN, clock="simulated") as defaults:
        with pytest.raises(RemoteRefused, match="MOCKPAY_DEFAULT_FRAUD_RULES=false"):
            run_remote(scenario, tmp_path, defaults.url, ADMIN)
        assert run_remote(load(LIBRARY / "01-happy-path.yaml"), tmp_path, defaults.url, ADMIN).ok


def test_the_cli_runs_a_scenario_against_a_url(
    server: RunningServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    monkeypatch.setenv("MOCKPAY_ADMIN_TOKEN", ADMIN)
    path = str(LIBRARY / "03-key-reuse.yaml")
    assert main(["run", "--target", server.url, "--out", str(tmp_path), path]) == 0
    assert "1 passed, 0 failed" in capsys.readouterr().out
    crash = str(LIBRARY / "09-crash-restart.yaml")
    assert main(["run", "--target", server.url, "--out", str(tmp_path), crash]) == 1
    assert "faults.0.kind: crash runs only in process" in capsys.readouterr().err
    monkeypatch.delenv("MOCKPAY_ADMIN_TOKEN")
    assert main(["run", "--target", server.url, path]) == 2
    assert "--admin-token or MOCKPAY_ADMIN_TOKEN" in capsys.readouterr().err


def test_error_bodies_become_the_engines_errors_by_code() -> None:
    def response(body: dict[str, object], **headers: str) -> httpx.Response:
        request = httpx.Request("POST", "http://mockpay/api/payments")
        return httpx.Response(422, json=body, headers=headers, request=request)

    reused = error_from_response(
        response({"error": "Key reused", "code": "idempotency_key_reused"})
    )
    assert isinstance(reused, IdempotencyKeyReused) and not reused.replayed
    exceeded = error_from_response(
        response({"error": "Too much", "code": "amount_exceeded", "details": {"x": 1}},
                 **{"Idempotent-Replayed": "true"})
    )  # fmt: skip
    assert isinstance(exceeded, AmountExceeded) and exceeded.replayed
    assert exceeded.to_record() == {"code": "amount_exceeded", "message": "Too much",
                                    "details": {"x": 1}}  # fmt: skip
    limited = error_from_response(response({"error": "Slow down", "code": "rate_limited"}))
    assert isinstance(limited, MockPayError) and limited.code == "rate_limited"
