"""``bench/serve.py --profile``: py-spy samples ours during one more create run, and the
samples are counted by area of the server (the first area with a frame on each stack)."""

import os
import shutil
import subprocess
import sys
from collections import Counter

from ours import Bench

SAMPLES_PER_S = 200  # py-spy's rate

AREAS = (  # (frame marker, area): a sample counts to the first area with a frame on its stack
    ("background (server/app.py", "the background thread: webhook delivery, expiries"),
    ("tenant (server/deps.py", "authenticate and rate-limit (the tenant dependency)"),
    ("EngineCalls._run (", "commands on the writer thread (engine, batch, COMMIT)"),
    ("Engine.", "Engine methods (reads, on the event loop)"),
    ("EngineCalls._", "the writer thread: queue, answers"),
    ("WorkerThread.run (", "the rest of the thread pool: endpoints, sync dependencies"),
    ("request_done (server/logs.py", "the per-request JSON log line"),
    ("run_in_threadpool (", "hand-offs to the thread pool (event loop side)"),
    ("(fastapi/", "FastAPI: routing, dependencies, validation, JSON"),
    ("(starlette/middleware/base.py", "BaseHTTPMiddleware (@app.middleware('http'))"),
    ("(starlette/", "starlette, other"),
    ("(h11/", "h11 (HTTP/1.1)"),
    ("", "the rest: uvicorn, asyncio"),
)


def area(frames: list[str]) -> str:
    for marker, name in AREAS:
        if any(marker in f if marker.startswith("(") else f.startswith(marker) for f in frames):
            return name
    return AREAS[-1][1]


def profile_create(b: Bench, connections: int, duration_s: int, out: str) -> None:
    """py-spy samples ours' threads while they hold the GIL: one process runs Python on one
    CPU at a time, so that is the work that bounds one process's requests per second."""
    py_spy = shutil.which("py-spy") or os.path.join(os.path.dirname(sys.executable), "py-spy")
    if not os.path.exists(py_spy):
        print("\nprofile skipped: py-spy not found (pip install py-spy)")
        return
    argv = [
        py_spy, "record", "--pid", str(b.ours.pid), "--duration", str(duration_s),
        "--rate", str(SAMPLES_PER_S), "--gil", "--format", "raw", "--output", out, "--nonblocking",
    ]  # fmt: skip
    spy = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    load, _ = b.create_unique(connections, duration_s)
    _, err = spy.communicate(timeout=duration_s + 60)
    if spy.returncode != 0 or not os.path.exists(out):
        print(f"\nprofile failed (py-spy {spy.returncode}): {err.decode()[-300:]}")
        return
    areas, leaves = Counter[str](), Counter[str]()
    with open(out, encoding="utf-8") as f:
        for raw in f:
            stack, _, n = raw.rstrip().rpartition(" ")
            frames = stack.split(";")
            leaves[frames[-1]] += int(n)
            areas[area(frames)] += int(n)
    total = areas.total()
    print(
        f"\npy-spy --gil, ours, {load.requests:,} creates at {connections} connections"
        f" ({load.rate:,.0f}/s while sampled): {total:,} samples of a thread holding the GIL"
        f" (in {total / (SAMPLES_PER_S * duration_s):.0%} of the run), each counted to the"
        " first of these on its stack:"
    )
    for _, name in AREAS:
        print(f"  {areas[name] / total:6.1%}  {name}")
    print("  the lines holding it (time in C, such as sqlite3's, counts to its caller):")
    for name, n in leaves.most_common(12):
        print(f"  {n / total:6.1%}  {name}")
