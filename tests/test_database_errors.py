"""A database that cannot be opened is one clear line on stderr and a non-zero exit.

Tried as a new user would: the real ``mockpay`` commands in a subprocess, each pointed at a
database that is not there for one reason, and the line must name the database and the
reason (never a traceback, never "busy").
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from server.testing import free_port  # bound, then let go: nothing listens there

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = ROOT / "scenarios" / "01-happy-path.yaml"


def mockpay(
    *args: str, user: int | None = None, cwd: Path = ROOT
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("MOCKPAY_DATABASE_URL", None)
    env.pop("MOCKPAY_DB", None)
    return subprocess.run(
        [sys.executable, "-m", "mockpay_core.cli", *args],
        capture_output=True, text=True, timeout=60, env=env, cwd=ROOT,
    )  # fmt: skip


def assert_one_line(done: subprocess.CompletedProcess[str], command: str, *words: str) -> None:
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr and "busy" not in done.stderr, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"mockpay {command}: cannot open the database "), lines[0]
    for word in words:
        assert word in lines[0], lines[0]


@pytest.mark.parametrize("command", ["serve", "worker"])
def test_sqlite_in_a_missing_folder(command: str, tmp_path: Path) -> None:
    db = tmp_path / "no" / "such" / "x.db"
    extra = ["--port", str(free_port())] if command == "serve" else []
    done = mockpay(command, "--db", str(db), *extra)
    assert_one_line(done, command, str(db), f"the folder {db.parent} does not exist")


def test_sqlite_on_a_folder_and_on_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    assert_one_line(mockpay("worker", "--db", str(tmp_path)), "worker", "is a folder")
    junk = tmp_path / "notes.db"
    junk.write_text("not a database, but a page of notes " * 100)
    assert_one_line(mockpay("worker", "--db", str(junk)), "worker", "not an SQLite database")
    assert junk.read_text().startswith("not a database")  # nothing written over it


def _lock(folder: Path) -> list[str] | None:
    """Make ``folder`` refuse new files; the command that lets it go again."""
    if os.geteuid() != 0:
        folder.chmod(0o555)
        return None
    # Root ignores permission bits; an immutable folder refuses it too.
    if subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode:
        pytest.skip("running as root where chattr +i is not allowed: nothing refuses root")
    return ["chattr", "-i", str(folder)]


def test_sqlite_in_a_folder_without_permission(tmp_path: Path) -> None:
    folder = tmp_path / "locked"
    folder.mkdir()
    unlock = _lock(folder)
    try:
        done = mockpay("serve", "--db", str(folder / "x.db"), "--port", str(free_port()))
    finally:
        if unlock:
            subprocess.run(unlock, check=True)
        folder.chmod(0o755)
    assert_one_line(done, "serve", f"cannot create a file in {folder}")
    assert "permission denied" in done.stderr or "not permitted" in done.stderr


@pytest.mark.parametrize("command", ["serve", "worker", "run"])
def test_postgres_connection_refused(command: str) -> None:
    url = f"postgresql://nobody@127.0.0.1:{free_port()}/x"
    extra = {"serve": ["--port", str(free_port())], "run": [str(SCENARIO)]}.get(command, [])
    done = mockpay(command, "--db", url, *extra)
    assert_one_line(done, command, url, "connection refused")


def test_postgres_authentication_and_unknown_database(postgres_url: str, tmp_path: Path) -> None:
    from urllib.parse import urlsplit

    parts = urlsplit(postgres_url)
    where = f"{parts.hostname}:{parts.port or 5432}"
    nobody = f"postgresql://no_such_role@{where}/postgres"
    assert_one_line(mockpay("worker", "--db", nobody), "worker", "authentication failed")
    missing = f"postgresql://{parts.username}@{where}/no_such_database"
    done = mockpay("serve", "--db", missing, "--port", str(free_port()))
    assert_one_line(done, "serve", "unknown database", "no_such_database")
    done = mockpay("run", str(SCENARIO), "--db", missing, "--out", str(tmp_path))
    assert_one_line(done, "run", "unknown database")


def test_a_password_in_the_url_is_masked() -> None:
    url = f"postgresql://nobody:hunter2@127.0.0.1:{free_port()}/x"
    done = mockpay("worker", "--db", url)
    assert_one_line(done, "worker", "nobody:***@")
    assert "hunter2" not in done.stderr
