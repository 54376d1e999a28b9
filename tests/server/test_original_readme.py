"""Acceptance: the original MockPay README's curl flow, run with curl, against our server.

The commands are read from the original README itself (``shared/seeds/MockPay-README.txt``
beside the project), with only the host and the ``<api_key>``/``<payment_id>`` placeholders
filled in, as a user following it would.
"""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.server.conftest import ADMIN, Live

ORIGINAL = Path(__file__).resolve().parents[3] / "shared" / "seeds" / "MockPay-README.txt"


def curl_commands(text: str) -> list[list[str]]:
    """Every ``curl`` command in ``text``, continuation lines joined, split like a shell."""
    commands, pending = [], ""
    for line in text.splitlines():
        if pending or line.startswith("curl "):
            pending += line.rstrip("\\").strip() + " "
            if not line.endswith("\\"):
                commands.append(shlex.split(pending))
                pending = ""
    return commands


def run(command: list[str], live: Live, values: dict[str, str]) -> tuple[int, dict[str, object]]:
    filled = [
        arg.replace("http://localhost:3000", live.url)
        .replace("<api_key>", values.get("api_key", "<api_key>"))
        .replace("<payment_id>", values.get("payment_id", "<payment_id>"))
        for arg in command
    ]
    done = subprocess.run(
        [*filled, "--silent", "--show-error", "--write-out", "\n%{http_code}"],
        capture_output=True, text=True, timeout=30, check=True,
    )  # fmt: skip
    body, _, status = done.stdout.rpartition("\n")
    return int(status), json.loads(body)


@pytest.mark.skipif(not ORIGINAL.exists(), reason=f"the original README is not at {ORIGINAL}")
@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_the_original_readme_curl_flow_works_unchanged(live: Live) -> None:
    register, create, simulate, audit, metrics = curl_commands(ORIGINAL.read_text())
    values: dict[str, str] = {}

    status, body = run(register, live, values)
    assert status == 201 and body["message"] == "Tenant registered successfully"
    values["api_key"] = str(body["api_key"])
    assert str(body["webhook_secret"]).startswith("whsec_")

    status, body = run(create, live, values)
    assert status == 201 and body["status"] == "pending", body
    values["payment_id"] = str(body["payment_id"])

    status, body = run(simulate, live, values)
    assert (status, body["payment_id"], body["status"]) == (200, values["payment_id"], "success")

    status, body = run(audit, live, values)
    assert status == 200 and body["total_events"] == 2
    assert [h["new_status"] for h in body["history"]] == ["pending", "success"]

    # The original showed every tenant's metrics to any tenant's key; ours asks for the
    # admin token, and says so in the original's error shape.
    status, body = run(metrics, live, values)
    assert status == 403 and "admin token" in str(body["error"])
    status, body = run(metrics, live, {"api_key": ADMIN})
    assert status == 200 and body["payments"]["total"] == 1
