"""`mockpay serve` as users start it: one process, and several on one database."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

ADMIN = "serve-cli-admin-token-0123456789"


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _process_ids(
    port: int, want: int, timeout_s: float = 30.0, gone: frozenset[int] = frozenset()
) -> set[int]:
    """The server processes seen answering on new connections, until ``want`` of them
    that are not in ``gone``."""
    seen: set[int] = set()
    headers = {"Authorization": f"Bearer {ADMIN}"}
    deadline = time.monotonic() + timeout_s
    while len(seen - gone) < want and time.monotonic() < deadline:
        with httpx.Client() as client:  # a new connection each time
            try:
                config = client.get(f"http://127.0.0.1:{port}/api/admin/config", headers=headers)
            except httpx.TransportError:  # a dying worker's queued connection
                continue
            seen.add(int(config.json()["process_id"]))
    return seen - gone


def _durabilities(port: int, workers: int, timeout_s: float = 30.0) -> set[str]:
    """``durability`` as each of ``workers`` processes reports it (new connections)."""
    seen: dict[int, str] = {}
    headers = {"Authorization": f"Bearer {ADMIN}"}
    deadline = time.monotonic() + timeout_s
    while len(seen) < workers and time.monotonic() < deadline:
        with httpx.Client() as client:
            config = client.get(f"http://127.0.0.1:{port}/api/admin/config", headers=headers)
        seen[int(config.json()["process_id"])] = config.json()["durability"]
    assert len(seen) == workers
    return set(seen.values())


def _serve_argv(tmp_path: Path, port: int, workers: int) -> list[str]:
    return [sys.executable, "-m", "mockpay_core.cli", "serve", "--db", str(tmp_path / "s.db"),
            "--port", str(port), "--workers", str(workers)]  # fmt: skip


def _two_workers(tmp_path: Path) -> tuple[subprocess.Popen[bytes], int]:
    """``mockpay serve --workers 2`` in a session of its own, on a free port; stderr piped."""
    port = _port()
    env = {**os.environ, "MOCKPAY_ADMIN_TOKEN": ADMIN}
    proc = subprocess.Popen(
        _serve_argv(tmp_path, port, 2), env=env, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, start_new_session=True,
    )  # fmt: skip
    return proc, port


def test_a_worker_that_dies_is_replaced(tmp_path: Path) -> None:
    proc, port = _two_workers(tmp_path)
    try:
        first = _process_ids(port, 2)
        assert len(first) == 2  # new connections reach both worker processes
        killed = min(first)
        os.kill(killed, signal.SIGKILL)
        assert len(_process_ids(port, 2, gone=frozenset({killed}))) == 2
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    assert f"worker {killed} exited (-9); starting another" in err.decode()
    assert proc.returncode == 0


def test_workers_stop_when_their_supervisor_is_killed(tmp_path: Path) -> None:
    proc, port = _two_workers(tmp_path)
    try:
        pids = _process_ids(port, 2)
        proc.kill()
        proc.wait(timeout=10)
        deadline = time.monotonic() + 20
        while any(_alive(pid) for pid in pids):
            assert time.monotonic() < deadline, "a worker outlived its supervisor"
            time.sleep(0.1)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=30)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_serve_refuses_a_port_in_use(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            _serve_argv(tmp_path, port, 2), capture_output=True, text=True, timeout=60
        )
    assert done.returncode != 0
    assert "address already in use" in done.stderr.lower()


@pytest.mark.parametrize(
    ("workers", "kind", "durability"),
    [(1, "sqlite-file", None), (2, "sqlite-file", "full"), (2, "postgres", "normal")],
)
def test_serve(
    tmp_path: Path,
    workers: int,
    kind: str,
    durability: str | None,
    request: pytest.FixtureRequest,
) -> None:
    port = _port()
    env = {**os.environ, "MOCKPAY_ADMIN_TOKEN": ADMIN}
    db_flag = ["--db", str(tmp_path / "s.db")]
    if kind == "postgres":  # named by the environment, as in a deployment
        url, schema = request.getfixturevalue("postgres_schema")
        env["MOCKPAY_DATABASE_URL"] = f"{url}?schema={schema}"
        db_flag = []
    if durability is not None:
        db_flag += ["--durability", durability]
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
        # What each worker's database says of its COMMITs: SQLite's default is normal.
        assert _durabilities(port, workers) == {durability or "normal"}
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


def test_workers_share_one_rate_limit(tmp_path: Path) -> None:
    """The original tier's 100 requests per 15 minutes hold for the server as a whole, not
    per worker process: new connections spread over both, and only 100 are let through."""
    proc, port = _two_workers(tmp_path)
    url = f"http://127.0.0.1:{port}"
    try:
        assert len(_process_ids(port, 2)) == 2  # both up
        tenant = httpx.post(f"{url}/api/auth/register", json={"name": "R", "email": "r@x.test"})
        patched = httpx.patch(
            f"{url}/api/admin/users/{tenant.json()['tenant_id']}",
            json={"rate_limit_tier": "original"},
            headers={"Authorization": f"Bearer {ADMIN}"},
        )
        assert patched.json()["rate_limit_tier"] == "original"
        auth = {"Authorization": f"Bearer {tenant.json()['api_key']}"}

        def get(_: int) -> int:
            with httpx.Client() as client:  # a new connection, hashed to either worker
                return client.get(f"{url}/api/payments", headers=auth, timeout=30).status_code

        with ThreadPoolExecutor(8) as pool:
            statuses = Counter(pool.map(get, range(130)))
        assert statuses == {200: 100, 429: 30}
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.communicate(timeout=30)
