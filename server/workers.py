"""``mockpay serve --workers N`` on Linux: N server processes, each with its own listening
socket on one port (``SO_REUSEPORT``), so that the kernel spreads new connections evenly.

uvicorn's own workers share one socket, and a new connection goes to whichever process
accepts first: a burst of them (wrk's 64, a client pool opening) could all land on one
process while the other idled. With one socket each, the kernel hashes each connection to
a process.

The parent only supervises: it checks that the port is free (a plain bind, which fails if
anything listens there, even with ``SO_REUSEPORT``, so a second server cannot silently
share the port), makes the file of rate-limit counters that all workers share
(``SharedWindows`` in server/ratelimit.py), starts the workers, starts a worker again if
one dies, and on SIGINT or SIGTERM stops them all (each finishes its requests and flushes
its log).
"""

from __future__ import annotations

import functools
import multiprocessing
import os
import signal
import socket
import sys
import threading
from typing import Any, Final

from server.ratelimit import SharedWindows

RESTART_PAUSE_S: Final = 0.5  # between a worker's death and its replacement
STOP_TIMEOUT_S: Final = 20.0  # a worker still running after this is killed
BACKLOG: Final = 2048  # uvicorn's default
PR_SET_PDEATHSIG: Final = 1  # from <linux/prctl.h>


def supported() -> bool:
    return sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def check_port_free(host: str, port: int) -> None:
    """OSError (address in use) if a socket listens on ``host:port``, with or without
    ``SO_REUSEPORT``. Connections of an earlier run still in TIME_WAIT do not count
    (``SO_REUSEADDR``, as uvicorn binds): a restart right after a stop works."""
    with socket.socket(_family(host), socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((host, port))


def _listening_socket(host: str, port: int) -> socket.socket:
    sock = socket.socket(_family(host), socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(BACKLOG)
    return sock


def _die_with(parent_pid: int) -> None:
    """SIGTERM this process when ``parent_pid`` dies, even of SIGKILL (Linux's
    ``PR_SET_PDEATHSIG``), so that no worker outlives its supervisor holding the port."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM) != 0 or os.getppid() != parent_pid:
        sys.exit("mockpay serve: the supervisor is gone")


def _worker(parent_pid: int, host: str, port: int, options: dict[str, Any], windows: str) -> None:
    """One server process: the app built from the environment (``from_environment``),
    counting rate limits in the supervisor's ``windows`` file."""
    import uvicorn

    from server.app import from_environment

    _die_with(parent_pid)
    sock = _listening_socket(host, port)
    app = functools.partial(from_environment, shared_windows=windows)
    config = uvicorn.Config(app, factory=True, **options)
    uvicorn.Server(config).run(sockets=[sock])


def serve(host: str, port: int, workers: int, options: dict[str, Any]) -> int:
    """Run ``workers`` server processes until SIGINT or SIGTERM; the exit code."""
    try:
        check_port_free(host, port)
    except OSError as exc:
        print(f"mockpay serve: cannot listen on {host}:{port}: {exc}", file=sys.stderr)
        return 1
    context = multiprocessing.get_context("spawn")
    stopping = threading.Event()
    try:
        windows_fd, windows = _unnamed_windows()
    except OSError as exc:
        print(f"mockpay serve: cannot make the shared rate-limit table: {exc}", file=sys.stderr)
        return 1

    def start() -> multiprocessing.process.BaseProcess:
        args = (os.getpid(), host, port, options, windows)
        process = context.Process(target=_worker, args=args, daemon=False)
        process.start()
        return process

    def stop(signum: int, _: object) -> None:
        stopping.set()

    previous = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    processes = [start() for _ in range(workers)]
    try:
        while not stopping.wait(RESTART_PAUSE_S):
            for i, process in enumerate(processes):
                if not process.is_alive() and not stopping.is_set():
                    print(
                        f"mockpay serve: worker {process.pid} exited ({process.exitcode});"
                        " starting another",
                        file=sys.stderr,
                        flush=True,
                    )
                    processes[i] = start()
    finally:
        for process in processes:
            if process.is_alive() and process.pid is not None:
                process.terminate()  # SIGTERM: uvicorn finishes what it is doing
        for process in processes:
            process.join(STOP_TIMEOUT_S)
            if process.is_alive():
                process.kill()
                process.join()
        for s, handler in previous.items():
            signal.signal(s, handler)
        os.close(windows_fd)
    return 0


def _unnamed_windows() -> tuple[int, str]:
    """The workers' rate-limit counters (``SharedWindows``): a file removed at once and kept
    open here, so that nothing is left behind even if this process is killed; workers, new
    ones too, open it as ``/proc/<this process>/fd/<n>`` (Linux)."""
    path = SharedWindows.create()
    fd = os.open(path, os.O_RDWR)
    os.unlink(path)
    return fd, f"/proc/{os.getpid()}/fd/{fd}"
