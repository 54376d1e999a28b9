"""The same short flow with the official Node SDK (``stripe`` from npm), when Node is here."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from server.testing import RunningServer

FLOW = Path(__file__).parent / "node" / "flow.cjs"
SDK = "stripe@23"  # the major the flow was written for
NPM_S_MAX = 300


@pytest.fixture(scope="session")
def node_modules(tmp_path_factory: pytest.TempPathFactory) -> Path:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("Node.js (node and npm) is not on PATH: the Node SDK flow is not run")
    where = tmp_path_factory.mktemp("node-sdk")
    subprocess.run(
        [npm, "install", "--no-audit", "--no-fund", "--prefix", str(where), SDK],
        check=True, capture_output=True, timeout=NPM_S_MAX,
    )  # fmt: skip
    return where / "node_modules"


def test_the_node_sdk_flow(server: RunningServer, api_key: str, node_modules: Path) -> None:
    node = shutil.which("node")
    assert node is not None
    done = subprocess.run(
        [node, str(FLOW), str(node_modules), server.url, api_key],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    steps = {line["step"]: line for line in map(json.loads, done.stdout.splitlines())}
    assert steps["create"] == {"step": "create", "status": "requires_capture", "capturable": 2000}
    assert steps["replay"] == {"step": "replay", "same": True, "replayed": "true"}
    assert steps["mismatch"]["raised"] == "StripeIdempotencyError"
    assert steps["capture"] == {"step": "capture", "status": "succeeded", "received": 1500}
    assert steps["refund"] == {"step": "refund", "amount": 500, "status": "succeeded"}
    assert steps["decline"] == {
        "step": "decline", "raised": "StripeCardError", "decline_code": "generic_decline",
        "card_error": True,
    }  # fmt: skip
    assert steps["retry"] == {"step": "retry", "status": "succeeded", "error": None}
    assert steps["paging"] == {"step": "paging", "count": 2}
    assert steps["webhook"] == {
        "step": "webhook", "type": "payment_intent.succeeded", "same": True,
        "tampered_refused": True,
    }  # fmt: skip
