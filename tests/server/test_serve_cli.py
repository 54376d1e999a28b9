"""`mockpay serve` as users start it: one process, and several on one database."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

ADMIN = "serve-cli-admin-token-0123456789"


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _process_ids(port: int, want: int, timeout_s: float = 20.0) -> set[int]:
    """The server processes seen answering on new connections, until ``want`` of them."""
    seen: set[int] = set()
    headers = {"Authorization": f"Bearer {ADMIN}"}
    deadline = time.monotonic() + timeout_s
    while len(seen) < want and time.monotonic() < deadline:
        with httpx.Client() as client:  # a new connection each time
            config = client.get(f"http://127.0.0.1:{port}/api/admin/config", headers=headers)
            seen.add(int(config.json()["process_id"]))
    return seen


@pytest.mark.parametrize(
    ("workers", "kind"), [(1, "sqlite-file"), (2, "sqlite-file"), (2, "postgres")]
)
def test_serve(
    tmp_path: Path,
    workers: int,
    kind: str,
    request: pytest.FixtureRequest,
) -> None:
    port = _port()
    env = {**os.environ, "MOCKPAY_ADMIN_TOKEN": ADMIN}
    db_flag = ["--db", str(tmp_path / "s.db")]
    if kind == "postgres":  # named by the environment, as in a deployment
        url, schema = request.getfixturevalue("postgres_schema")
        env["MOCKPAY_DATABASE_URL"] = f"{url}?schema={schema}"
        db_flag = []
    proc = subprocess.Popen(
        [sys.executable, "-m", "mockpay_core.cli", "serve", *db_flag,
         "--port", str(port), "--workers", str(workers)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/health").json() == {"status": "ok"}:
                    break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.1)
        key = httpx.post(f"{url}/api/auth/register", json={"name": "A", "email": "a@x.test"}).json()
        headers = {"Authorization": f"Bearer {key['api_key']}", "Idempotency-Key": "same"}
        body = {"amount": 10, "currency": "USD", "webhook_url": "http://127.0.0.1:9/h"}

        def post(_: int) -> httpx.Response:
            return httpx.post(f"{url}/api/payments", json=body, headers=headers, timeout=30)

        with ThreadPoolExecutor(16) as pool:
            answers = list(pool.map(post, range(32)))
        assert {r.status_code for r in answers} == {201}
        assert len({r.json()["payment_id"] for r in answers}) == 1
        metrics = httpx.get(
            f"{url}/api/admin/metrics", headers={"Authorization": f"Bearer {ADMIN}"}
        )
        assert metrics.json()["payments"]["total"] == 1
        assert len(_process_ids(port, workers)) == workers  # each worker process serves
        if kind == "postgres":
            assert not (tmp_path / "s.db").exists()
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        out, _ = proc.communicate(timeout=20)
    # Every worker process writes its JSON log lines, flushed as it stops.
    lines = [json.loads(line) for line in out.splitlines() if line.startswith(b"{")]
    creates = [x for x in lines if x.get("path") == "/api/payments" and x["method"] == "POST"]
    assert len(creates) == 32
    assert {x["tenant_id"] for x in creates} == {key["tenant_id"]}
    assert len({x["request_id"] for x in creates}) == 32


def test_several_workers_refuse_a_simulated_clock(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "mockpay_core.cli", "serve", "--db", str(tmp_path / "s.db"),
         "--workers", "2", "--clock", "simulated"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2 and "several workers need" in done.stderr
