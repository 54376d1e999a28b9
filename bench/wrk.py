"""wrk and its Lua script: one load run against one URL, parsed into a ``Load``.

wrk (Debian's ``wrk``) runs in its own process, keep-alive HTTP/1.1, for a fixed number of
seconds; the script's ``done()`` prints what each thread counted as ``@`` lines, which
``parse_wrk`` reads back. ``Wrk.run`` also takes the server's CPU time around the run
(its process tree, from /proc) and, if given, the PostgreSQL backends'.
"""

import statistics
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from procs import backend_cpu_s, cpu_s

WRK_THREADS = 1  # the server is the bottleneck; on a small machine a second thread takes a CPU
WRK_TIMEOUT_S = 5  # the store's busy timeout: a request slower than this counts as an error


class Process(Protocol):
    """What ``Wrk.run`` needs of the server it loads: its pid, for CPU time."""

    @property
    def pid(self) -> int: ...


# wrk's script. Arguments: mode (unique | same | get), run id, API keys (comma-separated:
# with several, each request picks one at random), JSON body. Each thread counts answers by
# status and by wall-clock second; done() prints them as @lines.
LUA = r"""
threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end

function init(args)
  mode, run_id = args[1], args[2]
  keys = {}
  for key in string.gmatch(args[3], "[^,]+") do table.insert(keys, key) end
  if #keys == 1 then wrk.headers["Authorization"] = "Bearer " .. keys[1] end
  math.randomseed(os.time() * 1000 + tid)
  if mode ~= "get" then
    wrk.method, wrk.body = "POST", args[4]
    wrk.headers["Content-Type"] = "application/json"
    wrk.headers["Idempotency-Key"] = run_id
  end
  fixed = wrk.format()
  sent, statuses, seconds, replayed = 0, {}, {}, 0
end

function request()
  if mode ~= "unique" and #keys < 2 then return fixed end
  if #keys > 1 then wrk.headers["Authorization"] = "Bearer " .. keys[math.random(#keys)] end
  if mode == "unique" then
    sent = sent + 1
    wrk.headers["Idempotency-Key"] = run_id .. "-" .. tid .. "-" .. sent
  end
  return wrk.format()
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  local now = os.time()
  seconds[now] = (seconds[now] or 0) + 1
  if headers["idempotent-replayed"] or headers["Idempotent-Replayed"] then
    replayed = replayed + 1
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  print(string.format("@summary %d %d %d %d %d %d", summary.requests, summary.duration,
    e.connect, e.read, e.write, e.timeout))
  print(string.format("@latency %.1f %.1f %.1f", latency:percentile(50),
    latency:percentile(99), latency.max))
  for _, t in ipairs(threads) do
    print("@replayed " .. t:get("replayed"))
    for k, v in pairs(t:get("statuses")) do print("@status " .. k .. " " .. v) end
    for k, v in pairs(t:get("seconds")) do print("@second " .. k .. " " .. v) end
  end
end
"""


@dataclass(frozen=True, slots=True)
class Load:
    """One wrk run: completed requests, what they answered, and the server's CPU time."""

    requests: int
    duration_s: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    socket_errors: int  # connect, read, write and timeouts
    replayed: int
    statuses: Counter[int]
    per_second: list[int]  # completions in each whole second of the run
    cpu_ms: float | None = None  # the server's CPU time per completed request
    db_cpu_ms: float | None = None  # the PostgreSQL backends' CPU time per completed request

    @property
    def rate(self) -> float:
        return self.requests / self.duration_s

    @property
    def ok(self) -> int:
        return sum(n for s, n in self.statuses.items() if 200 <= s < 300)

    @property
    def errors(self) -> int:
        return self.requests - self.ok + self.socket_errors

    @property
    def slowest_share(self) -> float:
        """The slowest whole second's completions over the median second's."""
        if len(self.per_second) < 3:
            return 1.0
        return min(self.per_second) / statistics.median(self.per_second)

    def describe(self) -> str:
        cpu = "n/a" if self.cpu_ms is None else f"{self.cpu_ms:.2f} ms"
        if self.db_cpu_ms is not None:
            cpu += f" + PostgreSQL {self.db_cpu_ms:.2f} ms"
        errors = f"errors {self.errors:,} of {self.requests:,}"
        if self.errors:
            bad = [f"{s} x {n:,}" for s, n in sorted(self.statuses.items()) if s >= 300]
            errors += f" ({', '.join([*bad, f'{self.socket_errors:,} socket/timeout'])})"
        return (
            f"p50 {self.p50_ms:.1f} ms  p99 {self.p99_ms:.1f} ms  max {self.max_ms:.0f} ms"
            f"  server CPU {cpu}/request  {errors}"
            f"  slowest second {self.slowest_share:.0%} of median"
        )


@dataclass(frozen=True, slots=True)
class Wrk:
    script: str
    body: str  # every POST's JSON body
    duration_s: int

    def run(
        self, url: str, server: Process, connections: int, mode: str, run_id: str = "",
        api_keys: Sequence[str] = (), duration_s: int | None = None,
        backends: Callable[[], dict[int, int] | None] | None = None,
    ) -> Load:  # fmt: skip
        """``mode``: unique (a new Idempotency-Key per POST), same (one key) or get;
        ``backends``: CPU ticks of the database backends serving it (``procs.ticks_of``)."""
        seconds = duration_s or self.duration_s
        argv = [
            "wrk", "-t", str(min(WRK_THREADS, connections)), "-c", str(connections),
            "-d", f"{seconds}s", "--timeout", f"{WRK_TIMEOUT_S}s", "-s", self.script, url,
            "--", mode, run_id, ",".join(api_keys), self.body,
        ]  # fmt: skip
        cpu_before, db_before = cpu_s(server.pid), backends() if backends else None
        done = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60)
        cpu_after, db_after = cpu_s(server.pid), backends() if backends else None
        if done.returncode != 0 or "@summary" not in done.stdout:
            sys.exit(f"wrk failed ({done.returncode}): {done.stderr or done.stdout}")
        load = parse_wrk(done.stdout)
        if not load.requests:
            return load
        if cpu_before is not None and cpu_after is not None:
            load = replace(load, cpu_ms=(cpu_after - cpu_before) * 1000 / load.requests)
        if db_before is not None and db_after is not None:
            db_ms = backend_cpu_s(db_before, db_after) * 1000 / load.requests
            load = replace(load, db_cpu_ms=db_ms)
        return load


def parse_wrk(out: str) -> Load:
    """The ``@`` lines that the Lua script's done() prints."""
    summary: list[int] = []
    latency: list[float] = []
    replayed, statuses, seconds = 0, Counter[int](), Counter[int]()
    for text in out.splitlines():
        tag, *values = text.split() or [""]
        if tag == "@summary":
            summary = [int(v) for v in values]
        elif tag == "@latency":
            latency = [float(v) / 1000 for v in values]
        elif tag == "@replayed":
            replayed += int(values[0])
        elif tag == "@status":
            statuses[int(values[0])] += int(values[1])
        elif tag == "@second":
            seconds[int(values[0])] += int(values[1])
    requests, duration_us, *socket_errors = summary
    p50, p99, top = latency
    whole = range(min(seconds) + 1, max(seconds)) if seconds else range(0)
    per_second = [seconds.get(s, 0) for s in whole]  # the partial first and last dropped
    return Load(
        requests, duration_us / 1e6, p50, p99, top, sum(socket_errors), replayed, statuses,
        per_second,
    )  # fmt: skip
