"""The dashboard over real HTTP with httpx: sign-in and its cookie, CSRF on every POST,
tenant isolation, bad input as clear 400 pages, and the actions the state table allows."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime

import httpx
import pytest

from server.dashboard import payments as dashboard_payments
from server.dashboard.session import COOKIE
from tests.dashboard.conftest import create_payment, csrf_of, sign_in
from tests.server.conftest import ADMIN, Live


@pytest.fixture(scope="module")
def acme(site: Live) -> tuple[dict[str, str], str]:
    auth, body = site.tenant("Acme")
    return auth, str(body["api_key"])


@pytest.fixture(scope="module")
def globex(site: Live) -> tuple[dict[str, str], str]:
    auth, body = site.tenant("Globex")
    return auth, str(body["api_key"])


def test_sign_in_sets_a_signed_httponly_strict_cookie_without_the_key(
    site: Live, acme: tuple[dict[str, str], str]
) -> None:
    http = httpx.Client(base_url=site.url)
    token = csrf_of(http.get("/dashboard/login").text)
    r = http.post("/dashboard/login", data={"key": acme[1], "csrf": token})
    assert r.status_code == 303
    cookie = r.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=")
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/dashboard" in cookie
    assert acme[1] not in cookie
    assert acme[1] not in r.headers["location"]
    page = http.get("/dashboard/payments")
    assert page.status_code == 200 and "Acme" in page.text and acme[1] not in page.text


def test_a_wrong_key_is_refused_with_the_form_again(site: Live) -> None:
    http = httpx.Client(base_url=site.url)
    token = csrf_of(http.get("/dashboard/login").text)
    r = http.post("/dashboard/login", data={"key": "mp_nope", "csrf": token})
    assert r.status_code == 401
    assert "neither a tenant API key nor the admin token" in r.text
    assert http.get("/dashboard/payments").status_code == 303  # still signed out


def test_sign_in_without_its_csrf_token_is_refused(
    site: Live, acme: tuple[dict[str, str], str]
) -> None:
    http = httpx.Client(base_url=site.url)
    http.get("/dashboard/login")
    r = http.post("/dashboard/login", data={"key": acme[1], "csrf": "forged"})
    assert r.status_code == 403 and "csrf_rejected" in r.text
    r = http.post("/dashboard/login", data={"key": acme[1]})
    assert r.status_code == 403


def test_signed_out_visitors_go_to_the_sign_in_page(site: Live) -> None:
    http = httpx.Client(base_url=site.url)
    for path in ("/dashboard", "/dashboard/payments", "/dashboard/webhooks", "/dashboard/clock"):
        r = http.get(path)
        assert r.status_code == 303 and r.headers["location"] == "/dashboard/login", path
    forged = httpx.Client(base_url=site.url, cookies={COOKIE: "forged.value"})
    assert forged.get("/dashboard/payments").status_code == 303


def test_a_tampered_cookie_is_no_session(site: Live, acme: tuple[dict[str, str], str]) -> None:
    viewer = sign_in(site.url, acme[1])
    value = viewer.http.cookies[COOKIE]
    body, mac = value.split(".")
    forged = httpx.Client(base_url=site.url, cookies={COOKIE: body[:-2] + "AA." + mac})
    assert forged.get("/dashboard/payments").status_code == 303


def test_another_tenants_payment_is_404_to_see_and_to_act_on(
    site: Live, acme: tuple[dict[str, str], str], globex: tuple[dict[str, str], str]
) -> None:
    pid = create_payment(site, acme[0], "iso-1", description="acme's own")
    intruder = sign_in(site.url, globex[1])
    assert intruder.http.get(f"/dashboard/payments/{pid}").status_code == 404
    assert intruder.http.get(f"/dashboard/payments/{pid}/live").status_code == 404
    r = intruder.post(f"/dashboard/payments/{pid}/simulate-success", idempotency_key="k1")
    assert r.status_code == 404 and "Payment not found" in r.text
    assert pid not in intruder.http.get("/dashboard/payments").text
    owner = sign_in(site.url, acme[1])
    assert owner.http.get(f"/dashboard/payments/{pid}").status_code == 200
    status = site.http.get(f"/api/payments/{pid}", headers=acme[0]).json()["status"]
    assert status == "pending"


def test_bad_filters_and_cursors_are_400_pages_naming_the_field(
    site: Live, acme: tuple[dict[str, str], str]
) -> None:
    viewer = sign_in(site.url, acme[1])
    for query, field in (
        ("cursor=not-a-cursor", "cursor"), ("status=paid", "status"),
        ("currency=XXX", "currency"), ("q=" + "x" * 101, "search"),
    ):  # fmt: skip
        r = viewer.http.get(f"/dashboard/payments?{query}")
        assert r.status_code == 400, query
        assert r.headers["content-type"].startswith("text/html")
        assert field in r.text, query
    r = viewer.http.get("/dashboard/payments?cursor=" + "c" * 700)
    assert r.status_code == 400 and "<html" in r.text and "cursor" in r.text
    r = viewer.http.get("/dashboard/no/such/page")
    assert r.status_code == 404 and "<html" in r.text


def test_search_and_cursor_pages_find_every_payment_once(
    site: Live, acme: tuple[dict[str, str], str]
) -> None:
    made = {create_payment(site, acme[0], f"page-{n}", description=f"Order {n} red shoes")
            for n in range(30)}  # fmt: skip
    create_payment(site, acme[0], "other", description="blue hat", customer="cus_SHOES")
    viewer = sign_in(site.url, acme[1])
    seen: list[str] = []
    path = "/dashboard/payments?q=RED+shoes"
    while path:
        html = viewer.http.get(path).text
        seen += re.findall(r'href="/dashboard/payments/([0-9a-f-]{36})"', html)
        nxt = re.search(r'rel="next" href="([^"]+)"', html)
        path = "/dashboard/payments" + nxt.group(1).replace("&amp;", "&") if nxt else ""
    assert sorted(seen) == sorted(made)
    shoes = viewer.http.get("/dashboard/payments?q=shoes").text
    assert "blue hat" in shoes  # the customer matched
    api = site.http.get("/api/payments?search=Red%20SHOES&limit=100", headers=acme[0]).json()
    assert sorted(p["id"] for p in api["data"]) == sorted(made)  # the API's filter too
    bad = site.http.get("/api/payments?search=" + "x" * 101, headers=acme[0])
    assert bad.status_code == 400 and bad.json()["code"] == "validation_error"


def _form_key(html: str, button: str) -> str:
    form = html.split(f'/{button}"', 1)[1]
    return re.search(r'name="idempotency_key" value="([^"]+)"', form).group(1)  # type: ignore[union-attr]


def test_actions_follow_the_state_table_and_their_keys(
    site: Live, acme: tuple[dict[str, str], str]
) -> None:
    pid = create_payment(site, acme[0], "act-1", amount=40)
    viewer = sign_in(site.url, acme[1])
    page = viewer.http.get(f"/dashboard/payments/{pid}").text
    assert 'data-action="simulate-success"' in page and 'data-action="cancel"' in page
    assert 'data-action="refund"' not in page and 'data-action="approve"' not in page
    r = viewer.post(f"/dashboard/payments/{pid}/refund", idempotency_key="r0", amount="5")
    assert r.status_code == 400 and "not possible for a pending payment" in r.text
    r = viewer.post(f"/dashboard/payments/{pid}/simulate-success",
                    idempotency_key=_form_key(page, "simulate-success"))  # fmt: skip
    assert r.status_code == 303
    page = viewer.http.get(r.headers["location"]).text
    assert 'data-action="refund"' in page and 'data-action="simulate-success"' not in page
    assert 'value="40.00"' in page  # the refund form offers what is left to refund
    key = _form_key(page, "refund")
    for _ in range(2):  # the same form twice: one refund
        r = viewer.post(f"/dashboard/payments/{pid}/refund", idempotency_key=key,
                        amount="12.50", reason="damaged")  # fmt: skip
        assert r.status_code == 303
    refunds = site.http.get(f"/api/payments/{pid}/refunds", headers=acme[0]).json()
    assert [x["amount"] for x in refunds["data"]] == ["12.50"]
    r = viewer.post(f"/dashboard/payments/{pid}/refund", idempotency_key="r2", amount="abc")
    assert r.status_code == 400 and "must be a number such as 12.50" in r.text
    r = viewer.post(f"/dashboard/payments/{pid}/refund", idempotency_key="r3", amount="99")
    assert r.status_code == 400 and "exceeds the refundable amount 27.50" in r.text
    r = viewer.http.post(f"/dashboard/payments/{pid}/refund",
                         data={"idempotency_key": "r4", "amount": "1"})  # fmt: skip
    assert r.status_code == 403  # no CSRF token
    assert len(site.http.get(f"/api/payments/{pid}/refunds", headers=acme[0]).json()["data"]) == 1


def test_the_timeline_highlights_the_path_taken(
    site: Live, acme: tuple[dict[str, str], str]
) -> None:
    pid = create_payment(site, acme[0], "tl-1")
    site.http.post(f"/api/payments/{pid}/simulate", json={"status": "success"}, headers=acme[0])
    viewer = sign_in(site.url, acme[1])
    page = viewer.http.get(f"/dashboard/payments/{pid}").text
    taken = re.findall(r'class="edge taken"[^>]*><title>([^<]+)</title>', page)
    assert taken == ["new → pending: create", "pending → success: succeed"]
    assert re.findall(r'class="node visited current" data-state="(\w+)"', page) == ["success"]


def test_admin_pages_and_their_actions(site: Live, acme: tuple[dict[str, str], str]) -> None:
    tenant = sign_in(site.url, acme[1])
    assert tenant.http.get("/dashboard/rules").status_code == 403
    assert tenant.http.get("/dashboard/clock").status_code == 403
    admin = sign_in(site.url, ADMIN)
    spec = {"name": "big one", "rule_type": "amount_limit", "threshold": 5000, "action": "flag"}
    rule = site.http.post("/api/admin/fraud-rules", json=spec, headers=site.admin).json()
    page = admin.http.get("/dashboard/rules")
    assert page.status_code == 200 and rule["name"] in page.text
    assert admin.post(f"/dashboard/rules/{rule['id']}/toggle").status_code == 303
    after = site.http.get("/api/admin/fraud-rules", headers=site.admin).json()["rules"][0]
    assert after["is_active"] is not rule["is_active"]
    admin.post(f"/dashboard/rules/{rule['id']}/toggle")
    before = site.http.get("/api/admin/clock", headers=site.admin).json()["now_exact"]
    assert admin.post("/dashboard/clock/advance", step="minute").status_code == 303
    now = site.http.get("/api/admin/clock", headers=site.admin).json()["now_exact"]
    assert (_seconds(now) - _seconds(before)) == 60
    assert admin.post("/dashboard/clock/advance", step="week").status_code == 400
    assert admin.http.post("/dashboard/clock/advance", data={"step": "hour"}).status_code == 403


def _seconds(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


def test_metrics_show_the_routes_counts_and_a_chart(
    site: Live, acme: tuple[dict[str, str], str]
) -> None:
    create_payment(site, acme[0], "m-1")
    admin = sign_in(site.url, ADMIN)
    page = admin.http.get("/dashboard/metrics").text
    total = site.http.get("/api/admin/metrics", headers=site.admin).json()["payments"]["total"]
    assert f"<dt>Total</dt><dd>{total}</dd>" in page
    assert '<svg class="chart" id="per-minute"' in page and "<rect" in page


def test_sign_out_ends_the_session(site: Live, acme: tuple[dict[str, str], str]) -> None:
    viewer = sign_in(site.url, acme[1])
    assert viewer.http.post("/dashboard/logout", data={"csrf": "x"}).status_code == 403
    r = viewer.post("/dashboard/logout")
    assert r.status_code == 303 and r.headers["location"] == "/dashboard/login"
    assert viewer.http.get("/dashboard/payments").status_code == 303


def test_the_api_is_unchanged_by_the_dashboard(site: Live) -> None:
    assert site.http.get("/health").json() == {"status": "ok"}
    paths = site.http.get("/openapi.json").json()["paths"]
    assert paths and not any(p.startswith("/dashboard") for p in paths)


def test_the_admin_picks_a_tenant_and_reviews_a_flagged_payment(
    site: Live, acme: tuple[dict[str, str], str], globex: tuple[dict[str, str], str]
) -> None:
    spec = {"name": "review big", "rule_type": "amount_limit", "threshold": 9000, "action": "flag"}
    rule = site.http.post("/api/admin/fraud-rules", json=spec, headers=site.admin).json()
    pid = create_payment(site, globex[0], "flag-1", amount=9500)
    site.http.delete(f"/api/admin/fraud-rules/{rule['id']}", headers=site.admin)
    tenant = sign_in(site.url, globex[1])
    page = tenant.http.get(f"/dashboard/payments/{pid}").text
    assert "flagged" in page and 'data-action="approve"' not in page  # the admin's to decide
    assert tenant.post(f"/dashboard/payments/{pid}/approve", idempotency_key="a").status_code == 400
    admin = sign_in(site.url, ADMIN)
    tenant_id = site.http.get("/api/admin/users", headers=site.admin).json()["users"]
    globex_id = next(u["tenant_id"] for u in tenant_id if u["name"] == "Globex")
    listing = admin.http.get(f"/dashboard/payments?tenant={globex_id}").text
    assert pid in listing
    assert admin.http.get("/dashboard/payments?tenant=nobody").status_code == 404
    page = admin.http.get(f"/dashboard/payments/{pid}").text
    assert "review big" in page and "<td>9500.00</td>" in page  # the rule, the value it saw
    r = admin.post(f"/dashboard/payments/{pid}/approve", idempotency_key=_form_key(page, "approve"))
    assert r.status_code == 303
    status = site.http.get(f"/api/payments/{pid}", headers=globex[0]).json()["status"]
    assert status == "pending"


def test_the_webhooks_stream_sends_the_section_again_when_a_delivery_appears(
    site: Live, acme: tuple[dict[str, str], str]
) -> None:
    viewer = sign_in(site.url, acme[1])
    pid = create_payment(site, acme[0], "sse-1")
    with viewer.http.stream("GET", "/dashboard/webhooks/live", timeout=10) as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        updates = _updates(stream.iter_lines())
        first = next(updates)
        assert 'id="q-pending"' in first and pid not in first
        site.http.post(f"/api/payments/{pid}/simulate", json={"status": "success"},
                       headers=acme[0])  # fmt: skip
        assert pid in next(updates)  # its payment.success event, due


def _updates(lines: Iterator[str]) -> Iterator[str]:
    """The data of each ``update`` event, its lines joined."""
    data: list[str] = []
    for line in lines:
        if line.startswith("data: "):
            data.append(line[len("data: ") :])
        elif not line and data:
            yield "\n".join(data)
            data = []


def test_every_page_renders_on_each_database(live: Live) -> None:
    """The pages' reads on an SQLite file and on PostgreSQL (the ``live`` fixture's two)."""
    auth, body = live.tenant("Both")
    pid = create_payment(live, auth, "db-1", description="on both", customer="cus_both")
    live.http.post(f"/api/payments/{pid}/simulate", json={"status": "success"}, headers=auth)
    viewer = sign_in(live.url, str(body["api_key"]))
    for path in ("/dashboard/payments?q=BOTH", f"/dashboard/payments/{pid}",
                 "/dashboard/webhooks", "/dashboard/metrics"):  # fmt: skip
        r = viewer.http.get(path)
        assert r.status_code == 200, (path, r.text[:500])
        assert pid in r.text or path == "/dashboard/metrics", path
    admin = sign_in(live.url, ADMIN)
    for path in ("/dashboard/rules", "/dashboard/clock", "/dashboard/metrics",
                 "/dashboard/webhooks"):  # fmt: skip
        assert admin.http.get(path).status_code == 200, path
    assert "payment.success" in viewer.http.get(f"/dashboard/payments/{pid}").text


def test_a_filter_that_matches_little_looks_at_a_bounded_window(
    site: Live, acme: tuple[dict[str, str], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dashboard_payments, "SCAN_ROWS", 4)
    needle = create_payment(site, acme[0], "needle", description="a needle")
    for n in range(9):
        create_payment(site, acme[0], f"hay-{n}", description="hay")
    viewer = sign_in(site.url, acme[1])
    html = viewer.http.get("/dashboard/payments?q=needle").text
    assert "No matches among the next 4 payments looked at" in html and needle not in html
    pages = 1
    while needle not in html:
        nxt = re.search(r'rel="next" href="([^"]+)"', html)
        assert nxt, "the needle was never reached"
        html = viewer.http.get("/dashboard/payments" + nxt.group(1).replace("&amp;", "&")).text
        pages += 1
    assert pages == 3  # 9 newer payments of hay, 4 looked at a page
