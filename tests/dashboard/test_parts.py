"""The dashboard's pure parts: the timeline is the state table's, the buttons are what the
table allows, the charts cover every status, the session cookie refuses forgeries."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import httpx
import pytest

from mockpay_core import AuditEntry, Status
from mockpay_core.domain.model import CaptureMethod, Payment
from mockpay_core.domain.states import TRANSITIONS, Action, allowed_actions
from mockpay_core.errors import ValidationError
from mockpay_core.service.overview import MinuteCounts
from server.dashboard import actions, chart, live, session, timeline
from server.dashboard.forms import amount
from server.dashboard.webhooks import parse_since
from server.errors import CsrfRejected
from server.testing import flaky_receiver

AT = datetime(2026, 3, 1, 12, tzinfo=UTC)
KEY = session.signing_key("admin-token-for-tests-0123456789")


def entry(old: str | None, new: str, action: str, seq: int) -> AuditEntry:
    return AuditEntry(f"a{seq}", "t1", "p1", seq, old, new, action, "test", {}, AT, "", "")


def a_payment(status: Status) -> Payment:
    return Payment(id="p1", tenant_id="t1", amount_minor=100, currency="USD", status=status,
                   capture_method=CaptureMethod.AUTOMATIC, webhook_url="http://h/",
                   idempotency_key="k", created_at=AT, updated_at=AT)  # fmt: skip


def test_the_timeline_draws_every_state_and_edge_of_the_table() -> None:
    assert set(timeline.POSITIONS) == {timeline.START, *(s.value for s in Status)}
    pairs = {(timeline._name(e.source), timeline._name(e.target)) for e in TRANSITIONS}
    assert set(timeline.edges()) == {(a, b) for a, b in pairs if a != b}
    assert timeline.edges()[("authorized", "canceled")] == ["cancel", "expire"]


def test_the_timeline_highlights_only_the_path_taken() -> None:
    history = [entry(None, "pending", "create", 1), entry("pending", "authorized", "authorize", 2),
               entry("authorized", "success", "capture", 3)]  # fmt: skip
    d = timeline.diagram(history, Status.SUCCESS)
    assert [line.title for line in d.lines if line.taken] == [
        "new → pending: create", "pending → authorized: authorize",
        "authorized → success: capture",
    ]  # fmt: skip
    assert {n.name for n in d.nodes if n.visited} == {"new", "pending", "authorized", "success"}
    assert [n.name for n in d.nodes if n.current] == ["success"]
    for line in d.lines:  # every segment inside the picture
        assert min(line.x1, line.x2) >= 0 and max(line.x1, line.x2) <= d.width_px


@pytest.mark.parametrize("status", list(Status))
def test_buttons_are_what_the_state_table_allows(status: Status) -> None:
    allowed = allowed_actions(status)
    tenant = {o.button.name for o in actions.offers(a_payment(status), admin=False)}
    admin = {o.button.name for o in actions.offers(a_payment(status), admin=True)}
    assert admin == {b.name for b in actions.BUTTONS if b.actions & allowed}
    assert tenant == {b.name for b in actions.BUTTONS if b.actions & allowed and not b.admin_only}
    keys = [o.idempotency_key for o in actions.offers(a_payment(status), admin=True)]
    assert len(set(keys)) == len(keys)  # a fresh key for each form


def test_every_action_a_person_takes_has_a_button() -> None:
    by_clock_or_api = {Action.CREATE, Action.EXPIRE, Action.RETRY}
    covered = set().union(*(b.actions for b in actions.BUTTONS))
    assert covered == set(Action) - by_clock_or_api


def test_the_chart_has_a_colour_per_status_and_stacks_to_the_peak() -> None:
    assert set(chart.COLOURS) == {s.value for s in Status}
    by_status = {s.value: [0, 0, 0] for s in Status}
    by_status["success"], by_status["failed"] = [1, 3, 0], [1, 1, 0]
    drawn = chart.per_minute(MinuteCounts(AT, 3, by_status))
    assert drawn.peak == 4 and len(drawn.bars) == 4
    plot_h = chart.HEIGHT_PX - 2 * chart.MARGIN_PX
    tallest = sum(b.height for b in drawn.bars if b.title.startswith("minute -1:"))
    assert tallest == pytest.approx(plot_h)
    assert chart.latency({"p50": None, "p95": None}).bars == []
    assert [b.title for b in chart.latency({"p50": 0.5, "p95": 2.0}).bars] == [
        "p50: 0.500 s", "p95: 2.000 s",
    ]  # fmt: skip


def test_a_session_cookie_round_trips_and_refuses_forgeries() -> None:
    s = session.new_session(tenant_id="t1", now_s=1000.0)
    cookie = session.encode(s, KEY)
    assert session.decode(cookie, KEY, now_s=1001.0) == dataclasses.replace(
        s, expires_s=float(int(s.expires_s))
    )
    assert session.decode(cookie, KEY, now_s=1000.0 + session.SESSION_S) is None  # expired
    assert session.decode(cookie, session.signing_key("another-admin-token-000"), 1001.0) is None
    body, mac = cookie.split(".")
    assert session.decode(f"{body}x.{mac}", KEY, 1001.0) is None
    for junk in ("", "a.b.c", "x" * 2000, "e30.AAAA"):
        assert session.decode(junk, KEY, 1001.0) is None


def test_the_csrf_token_belongs_to_its_session() -> None:
    one, two = session.new_session(), session.new_session()
    session.check_csrf(one, KEY, session.csrf_token(one, KEY))
    for sent in (None, "", session.csrf_token(two, KEY)):
        with pytest.raises(CsrfRejected):
            session.check_csrf(one, KEY, sent)


def test_form_amounts_and_times_are_checked() -> None:
    assert str(amount({"amount": " 12.50 "})) == "12.50"
    assert amount({"amount": ""}) is None
    for bad in ("abc", "NaN", "Infinity", "1e"):
        with pytest.raises(ValidationError, match="amount: must be a number"):
            amount({"amount": bad})
    assert parse_since("2026-03-01T12:00") == AT
    with pytest.raises(ValidationError, match="since"):
        parse_since("yesterday")


def test_a_server_sent_event_carries_every_line() -> None:
    assert live.event("update", "<p>\n</p>") == "event: update\ndata: <p>\ndata: </p>\n\n"
    assert live.event("update", "") == "event: update\ndata: \n\n"


def test_the_flaky_receiver_fails_each_events_first_attempts() -> None:
    with flaky_receiver(failures=2) as flaky, flaky_receiver(down=True) as down:
        answers = [httpx.post(flaky.url, headers={"webhook-id": "e1"}) for _ in range(3)]
        assert [(r.status_code, r.text) for r in answers] == [
            (503, "busy, try again"), (503, "busy, try again"), (200, "thanks"),
        ]  # fmt: skip
        assert httpx.post(flaky.url, headers={"webhook-id": "e2"}).status_code == 503
        assert httpx.post(down.url, headers={"webhook-id": "e1"}).status_code == 500
        down.down = False
        assert httpx.post(down.url, headers={"webhook-id": "e1"}).text == "busy, try again"
