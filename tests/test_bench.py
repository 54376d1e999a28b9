"""The benchmark scripts' logic without wrk: parsing its output, the Lua script's tenant
picking, CPU time from /proc, the targets' verdicts, and server.testing's process helpers."""

from __future__ import annotations

import os
import re
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from server.testing import ProcessNotReady, free_port, serving, start_process, wait_accepting

BENCH = Path(__file__).resolve().parent.parent / "bench"
if str(BENCH) not in sys.path:
    sys.path.append(str(BENCH))  # the scripts import each other by module name

import procs  # noqa: E402
import targets  # noqa: E402
import wrk  # noqa: E402

WRK_OUT = """Running 3s test @ http://127.0.0.1:35075/payments
  1 threads and 4 connections
  1981 requests in 3.08s, 655.82KB read
Requests/sec:    643.32
@summary 1981 3079336 0 1 0 2
@latency 5536.0 98185.0 123116.0
@replayed 3
@status 201 1975
@status 503 6
@second 1796228980 632
@second 1796228981 696
@second 1796228982 528
@second 1796228983 125
"""


def test_parse_wrk_reads_the_scripts_lines() -> None:
    load = wrk.parse_wrk(WRK_OUT)
    assert (load.requests, load.duration_s) == (1981, 3.079336)
    assert (load.p50_ms, load.p99_ms, load.max_ms) == (5.536, 98.185, 123.116)
    assert load.statuses == Counter({201: 1975, 503: 6})
    assert (load.ok, load.socket_errors, load.errors, load.replayed) == (1975, 3, 9, 3)
    assert load.per_second == [696, 528]  # the partial first and last seconds dropped
    assert load.slowest_share == 1.0  # fewer than 3 whole seconds: no stall judged
    assert "errors 9 of 1,981 (503 x 6, 3 socket/timeout)" in load.describe()


def test_the_lua_script_picks_a_random_api_key_per_request_when_given_several() -> None:
    request = wrk.LUA[wrk.LUA.index("function request()") :].split("\nend\n")[0]
    init = wrk.LUA[wrk.LUA.index("function init(args)") :].split("\nend\n")[0]
    assert 'string.gmatch(args[3], "[^,]+")' in init
    assert 'if #keys == 1 then wrk.headers["Authorization"]' in init
    assert 'wrk.headers["Authorization"] = "Bearer " .. keys[math.random(#keys)]' in request
    assert request.index("math.random") < request.index("return wrk.format()")


def test_ticks_of_skips_processes_that_are_gone() -> None:
    if procs.ticks_of([]) is None:
        pytest.skip("no /proc")
    gone = start_process([sys.executable, "-c", "pass"])
    gone.wait()
    found = procs.ticks_of([os.getpid(), gone.pid])
    assert found is not None and list(found) == [os.getpid()]


def test_backend_cpu_counts_new_backends_whole_and_survivors_by_difference() -> None:
    tick_s = 1 / os.sysconf("SC_CLK_TCK")
    before, after = {10: 100, 11: 50}, {10: 130, 12: 20}  # 11 ended, 12 started
    assert procs.backend_cpu_s(before, after) == pytest.approx(50 * tick_s)


def test_cpu_s_of_this_process_grows() -> None:
    first = procs.cpu_s(os.getpid())
    if first is None:
        pytest.skip("no /proc")
    sum(i * i for i in range(3_000_000))
    second = procs.cpu_s(os.getpid())
    assert second is not None and second > first


def _load(rate: float, p99_ms: float = 10.0, cpu_ms: float = 2.0, errors: int = 0) -> wrk.Load:
    requests = int(rate * 10)
    statuses = Counter({201: requests - errors, 503: errors})
    return wrk.Load(
        requests, 10.0, 5.0, p99_ms, p99_ms, 0, 0, statuses, [int(rate)] * 8, cpu_ms, None
    )


def _figure(db: str, servers: int, tenants: int, conn: int, rate: float, **kw: Any) -> Any:
    bare = _load(1000)
    return targets.summarize(db, servers, tenants, conn, [(bare, _load(rate, **kw))])


def test_summarize_takes_medians_of_the_rounds_and_sums_errors() -> None:
    rounds = [
        (_load(1000), _load(400)),
        (_load(800), _load(500, errors=2)),
        (_load(900), _load(90)),
    ]
    figure = targets.summarize("postgres", 4, 20, 8, rounds)
    assert figure.rate == 400 and figure.bare_rate == 900
    assert figure.ratio == pytest.approx(0.4)  # median of 0.4, 0.625, 0.1
    assert figure.errors == 2 and figure.cpu_ms == 2.0 and figure.db_cpu_ms is None


def _verdicts(figures: list[Any]) -> dict[str, bool | None]:
    return {v.target.split(":")[0]: v.passed for v in targets.judge(figures)}


def test_targets_pass_on_figures_that_meet_them() -> None:
    figures = [
        _figure("sqlite", 1, 1, 8, 400, cpu_ms=2.0),
        _figure("sqlite", 1, 20, 8, 400, cpu_ms=2.0),
        _figure("sqlite", 2, 1, 8, 650),
        _figure("postgres", 1, 1, 8, 300, cpu_ms=2.9),
        _figure("postgres", 1, 20, 8, 300, cpu_ms=3.0),
        _figure("postgres", 4, 1, 8, 460),
        _figure("postgres", 4, 20, 8, 560),
        _figure("postgres", 4, 20, 64, 560, p99_ms=300.0),
    ]
    verdicts = targets.judge(figures)
    assert [v.passed for v in verdicts] == [True] * 7, [v.describe() for v in verdicts]


def test_targets_fail_each_on_its_own_figure() -> None:
    figures = [
        _figure("sqlite", 1, 1, 8, 400, cpu_ms=2.0),
        _figure("sqlite", 2, 1, 8, 590),  # under 0.6x bare
        _figure("postgres", 1, 1, 8, 300, cpu_ms=3.1),  # over 1.5x SQLite's CPU
        _figure("postgres", 1, 20, 8, 400),
        _figure("postgres", 4, 1, 8, 440, p99_ms=101.0),  # under 0.45x; p99 over 100 ms
        _figure("postgres", 4, 20, 8, 590),  # 0.59x bare but under 1.5x the 1-worker 400/s
        _figure("postgres", 4, 1, 64, 500, errors=1),  # an error at 64
    ]
    assert [v.passed for v in targets.judge(figures)] == [
        False, True, False, False, False, False, False,
    ]  # fmt: skip


def test_targets_not_measured_are_not_run_rather_than_passed() -> None:
    verdicts = targets.judge([_figure("postgres", 1, 1, 8, 300)])
    assert [v.passed for v in verdicts] == [None, None, None, None, None, True, None]
    assert verdicts[0].describe().startswith("NOT RUN")


def test_serving_starts_a_process_on_a_free_port_and_always_stops_it(tmp_path: Path) -> None:
    argv = [
        sys.executable,
        "-m",
        "http.server",
        "--bind",
        "127.0.0.1",
        "--directory",
        str(tmp_path),
    ]
    with (
        pytest.raises(RuntimeError),
        serving(argv, str(tmp_path / "log"), port_flag=None) as served,
    ):
        proc = served.proc
        assert proc.poll() is None and served.url == f"http://127.0.0.1:{served.port}"
        raise RuntimeError("the body fails")
    assert proc.poll() is not None


def test_a_process_that_exits_is_a_clear_error_naming_its_log(tmp_path: Path) -> None:
    log = str(tmp_path / "log")
    proc = start_process([sys.executable, "-c", "raise SystemExit(3)"], log)
    with pytest.raises(ProcessNotReady, match=r"exited with code 3; see .*log"):
        wait_accepting(proc, free_port(), timeout_s=10, log=log)


def test_batch_prints_both_stores_and_what_a_create_sends(
    postgres_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    import batch

    assert batch.main(["--batch", "4", "--batches", "3", "--rounds", "1",
                       "--postgres-url", postgres_url]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "sqlite" in out and "ratio postgres/sqlite: CPU" in out
    sent = re.search(r"postgres per create: ([\d.]+) statements, ([\d.]+) waits", out)
    assert sent is not None
    statements, waits = float(sent[1]), float(sent[2])
    # One create in a batch: its velocity window and its idempotency record read in one
    # statement, its INSERTs as one (no savepoint, no key lock: the tenant's is held); and
    # the batch's share of 6 (BEGIN, locks, heads, rules, endpoints, COMMIT). Waits: one for
    # the window and record (which answers the create before it too), and the batch's share
    # of 2 (the locks with the reads after them, the COMMIT).
    assert statements == 2 + 6 / 4 and waits == 1 + 2 / 4


def test_batch_refuses_bad_flags(capsys: pytest.CaptureFixture[str]) -> None:
    import batch

    with pytest.raises(SystemExit) as info:
        batch.main(["--batch", "0"])
    assert info.value.code == 2 and "--batch is at least 1" in capsys.readouterr().err
