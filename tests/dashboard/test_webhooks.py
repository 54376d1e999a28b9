"""The webhooks page over real HTTP, on a server that delivers: every event dead since a
time replayed from the page's form, and a bad time refused with a 400 page."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from server.testing import flaky_receiver
from tests.dashboard.browser import delivering_server
from tests.dashboard.conftest import create_payment, sign_in
from tests.server.conftest import Live

WAIT_S = 15.0


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    yield from delivering_server(Path(tmp_path_factory.mktemp("hooks")) / "site.db")


def eventually(check: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAIT_S
    while not check():
        assert time.monotonic() < deadline, "not within the wait"
        time.sleep(0.1)


def test_every_event_dead_since_a_time_is_replayed_from_the_page(site: Live) -> None:
    auth, body = site.tenant("Recover")
    with flaky_receiver(failures=0, down=True) as down:
        pids = [create_payment(site, auth, f"r-{n}", webhook_url=down.url) for n in range(2)]
        for pid in pids:
            site.http.post(f"/api/payments/{pid}/simulate", json={"status": "success"},
                           headers=auth)  # fmt: skip

        def dead() -> int:
            return int(site.http.get("/api/webhooks/dead-letters", headers=auth).json()["total"])

        eventually(lambda: dead() == 2)
        viewer = sign_in(site.url, str(body["api_key"]))
        page = viewer.http.get("/dashboard/webhooks").text
        assert all(pid in page.split('id="q-dead"')[1] for pid in pids)
        r = viewer.post("/dashboard/webhooks/dead/recover", since="yesterday")
        assert r.status_code == 400 and "since" in r.text
        down.down = False
        since = (datetime.now(UTC) - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M")
        r = viewer.post("/dashboard/webhooks/dead/recover", since=since)
        assert r.status_code == 303 and r.headers["location"].endswith("done=recovered-2")
        eventually(lambda: dead() == 0)

        def statuses() -> list[str]:
            return [
                e["delivery_status"]
                for pid in pids
                for e in site.http.get(f"/api/payments/{pid}/events", headers=auth).json()["data"]
            ]

        eventually(lambda: statuses() == ["delivered", "delivered"])
