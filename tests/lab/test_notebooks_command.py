"""``./lab notebooks``: JupyterLab starts on loopback, serves the notebooks, and its kernel
is the project's own Python."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from server.testing import free_port

ROOT = Path(__file__).resolve().parents[2]
STARTUP_S_MAX = 90


class Lab:
    def __init__(self, proc: subprocess.Popen[bytes], port: int, token: str) -> None:
        self.proc, self.port, self.token = proc, port, token

    def call(self, path: str, method: str = "GET") -> Any:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}",
            method=method,
            headers={"Authorization": f"token {self.token}"},
            data=b"{}" if method == "POST" else None,
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            body = answer.read()
        return json.loads(body) if body else None


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    port, token = free_port(), secrets.token_hex(16)
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp_path), "BROWSER": "true"}
    log = (tmp_path / "lab.log").open("wb")
    proc = subprocess.Popen(
        [str(ROOT / "lab"), "notebooks", "--no-browser", f"--port={port}",
         f"--IdentityProvider.token={token}"],
        cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    server = Lab(proc, port, token)
    try:
        deadline = time.monotonic() + STARTUP_S_MAX
        while True:
            assert proc.poll() is None, (tmp_path / "lab.log").read_text()
            try:
                server.call("/api/status")
                break
            except OSError:
                assert time.monotonic() < deadline, "JupyterLab did not answer in time"
                time.sleep(0.5)
        yield server
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


def test_lab_notebooks_serves_the_notebooks_on_the_projects_kernel(lab: Lab) -> None:
    listing = lab.call("/api/contents/")
    names = {item["name"] for item in listing["content"]}
    assert {"01-tour.ipynb", "06-signatures.ipynb"} <= names
    tour = lab.call("/api/contents/01-tour.ipynb")
    assert tour["type"] == "notebook" and tour["content"]["cells"]
    assert tour["content"]["metadata"]["kernelspec"]["name"] == "python3"

    kernel = lab.call("/api/kernels", method="POST")
    try:
        server = psutil.Process(lab.proc.pid)
        deadline = time.monotonic() + 30
        while True:
            launched = [
                p for p in server.children(recursive=True)
                if "ipykernel_launcher" in " ".join(p.cmdline())
            ]  # fmt: skip
            if launched or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert len(launched) == 1
        assert Path(launched[0].cmdline()[0]) == Path(sys.executable)
    finally:
        lab.call(f"/api/kernels/{kernel['id']}", method="DELETE")


def _listening(process: psutil.Process, port: int) -> set[str]:
    """The addresses ``process`` listens on at ``port`` (none once it has exited: a helper
    process of the server may come and go while we look)."""
    try:
        found = process.net_connections(kind="inet")
    except psutil.NoSuchProcess:
        return set()
    return {c.laddr.ip for c in found if c.status == psutil.CONN_LISTEN and c.laddr.port == port}


def test_lab_notebooks_listens_on_loopback_only(lab: Lab) -> None:
    server = psutil.Process(lab.proc.pid)
    listening = set().union(
        *(_listening(p, lab.port) for p in [server, *server.children(recursive=True)])
    )
    assert listening == {"127.0.0.1"}
