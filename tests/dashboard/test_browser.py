"""The dashboard in a real browser (Debian's Chromium through Playwright) against a real
server on 127.0.0.1 that delivers webhooks: sign in, find and open a payment, watch a
delivery fail twice and succeed without reloading, replay a dead letter, refund from the
page, and a second tenant's 404. Every page is screenshotted under the test's tmp folder,
and none may log a console error."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from server.testing import FlakyReceiver, flaky_receiver
from tests.dashboard.browser import chromium, delivering_server
from tests.server.conftest import ADMIN, Live

WAIT_MS = 15_000


# This module's only: Playwright's sync API keeps an event loop running in the main thread
# while it is open, and later tests that call asyncio.run() would find it there.
@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    path, why = chromium()
    if path is None:
        pytest.skip(why)
    with sync_playwright() as p:
        found = p.chromium.launch(executable_path=path, args=["--no-sandbox"])
        yield found
        found.close()


@pytest.fixture(scope="module")
def hooks() -> Iterator[FlakyReceiver]:
    """Fails each event's first two attempts."""
    with flaky_receiver(failures=2) as r:
        yield r


@pytest.fixture
def down() -> Iterator[FlakyReceiver]:
    with flaky_receiver(failures=0, down=True) as r:
        yield r


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    yield from delivering_server(tmp_path_factory.mktemp("browser") / "site.db")


class Visit:
    """A signed-in browser tab that fails on any console error and screenshots pages."""

    def __init__(self, page: Page, shots: Path) -> None:
        self.page, self.shots, self.errors = page, shots, list[str]()
        page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        page.on("pageerror", lambda e: self.errors.append(str(e)))

    def sign_in(self, url: str, key: str) -> None:
        self.page.goto(f"{url}/dashboard/login")
        self.page.fill("#key", key)
        self.page.click("button[type=submit]")
        expect(self.page).to_have_url(f"{url}/dashboard/payments")

    def shot(self, name: str) -> None:
        assert self.errors == [], self.errors
        self.page.screenshot(path=str(self.shots / f"{name}.png"), full_page=True)


@pytest.fixture
def visit(browser: Browser, tmp_path: Path) -> Iterator[Visit]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    yield Visit(context.new_page(), tmp_path)
    context.close()
    print(f"screenshots: {tmp_path}")


def api(site: Live, auth: dict[str, str], method: str, path: str, **kw: Any) -> Any:
    r = site.http.request(method, path, headers={**auth, **kw.pop("headers", {})}, **kw)
    assert r.status_code < 300, r.text
    return r.json()


def pay(site: Live, auth: dict[str, str], key: str, url: str, **fields: object) -> str:
    body = {"amount": 42.5, "currency": "EUR", "webhook_url": url, **fields}
    made = api(site, auth, "POST", "/api/payments", json=body, headers={"Idempotency-Key": key})
    return str(made["payment_id"])


def test_a_tenant_finds_watches_and_refunds_a_payment(
    site: Live, hooks: FlakyReceiver, visit: Visit
) -> None:
    auth, body = site.tenant("Browser tenant")
    pid = pay(site, auth, "b-1", hooks.url, description="Blue bicycle", customer="cus_ada")
    visit.sign_in(site.url, str(body["api_key"]))
    page = visit.page
    page.fill("input[name=q]", "bicycle")
    page.click("form.filters button")
    expect(page.locator("#payments")).to_contain_text("Blue bicycle")
    visit.shot("payments")
    page.click(f"a[href='/dashboard/payments/{pid}']")
    expect(page.locator("h1")).to_contain_text(pid)
    expect(page.locator("#events")).to_contain_text("No events yet")
    page.evaluate("window.notReloaded = true")
    api(site, auth, "POST", f"/api/payments/{pid}/simulate", json={"status": "success"})
    events = page.locator("#events")
    expect(events.locator("tr.bad")).to_have_count(2, timeout=WAIT_MS)  # two 503s, live
    expect(events).to_contain_text("busy, try again")
    expect(events.locator(".d-delivered")).to_have_count(1, timeout=WAIT_MS)
    expect(events.locator("tr.ok")).to_contain_text("thanks")
    expect(page.locator("#moved")).to_contain_text("The payment is success now")
    assert page.evaluate("window.notReloaded") is True
    assert int(page.get_attribute("#events", "data-updates") or 0) >= 2
    visit.shot("payment-delivered")
    page.reload()  # the buttons are drawn for the new state
    page.fill("form[action$='/refund'] input[name=amount]", "10.25")
    page.click("button[data-action=refund]")
    expect(page.locator(".notice")).to_contain_text("refund")
    expect(page.locator("#refunds")).to_contain_text("10.25 EUR")
    expect(page.locator("h1 .status")).to_have_text("partially_refunded")
    refunds = api(site, auth, "GET", f"/api/payments/{pid}/refunds")["data"]
    assert [r["amount"] for r in refunds] == ["10.25"]
    visit.shot("payment-refunded")


def test_a_dead_letter_is_replayed_from_the_webhooks_page(
    site: Live, down: FlakyReceiver, visit: Visit
) -> None:
    auth, body = site.tenant("DLQ tenant")
    pid = pay(site, auth, "d-1", down.url)
    visit.sign_in(site.url, str(body["api_key"]))
    page = visit.page
    page.goto(f"{site.url}/dashboard/webhooks")
    api(site, auth, "POST", f"/api/payments/{pid}/simulate", json={"status": "success"})
    dead = page.locator("#q-dead")
    expect(dead.locator(f"tr:has(a[href='/dashboard/payments/{pid}'])")).to_have_count(
        1, timeout=WAIT_MS
    )
    visit.shot("webhooks-dead")
    down.down = False
    dead.locator("button[data-action=replay]").first.click()
    expect(page.locator(".notice")).to_contain_text("replayed")
    delivered = page.locator("#q-delivered")
    expect(delivered).to_contain_text(pid, timeout=WAIT_MS)
    expect(dead).to_contain_text("None.")
    visit.shot("webhooks-replayed")


def test_a_second_tenant_gets_404_on_the_first_ones_payment(
    site: Live, hooks: FlakyReceiver, visit: Visit
) -> None:
    first, _ = site.tenant("First")
    pid = pay(site, first, "i-1", hooks.url)
    _, second = site.tenant("Second")
    visit.sign_in(site.url, str(second["api_key"]))
    response = visit.page.goto(f"{site.url}/dashboard/payments/{pid}")
    assert response is not None and response.status == 404
    expect(visit.page.locator("h1")).to_contain_text("not found")
    visit.errors = [e for e in visit.errors if "404" not in e]  # the page's own status
    visit.shot("isolation-404")


def test_the_admin_pages_render_without_errors(site: Live, visit: Visit) -> None:
    visit.sign_in(site.url, ADMIN)
    for name in ("payments", "webhooks", "rules", "clock", "metrics"):
        response = visit.page.goto(f"{site.url}/dashboard/{name}")
        assert response is not None and response.status == 200, name
        visit.shot(f"admin-{name}")
    expect(visit.page.locator("#per-minute")).to_be_visible()
    assert httpx.get(f"{site.url}/dashboard/static/dashboard.css").status_code == 200
