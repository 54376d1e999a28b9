"""The README's dashboard screenshots, from a seeded run.

    .venv/bin/python docs/screenshots.py [--out docs]

A server on 127.0.0.1 (the app ``mockpay serve`` runs, on a simulated clock and seeded ids)
gets one tenant's payments through the engine; their webhooks go to a receiver on
127.0.0.1 that fails each event's first two attempts (``server.testing.flaky_receiver``),
the others to one that answers at once; the clock is moved so
that the retries run. Debian's Chromium (through Playwright) then signs in with the
tenant's key and writes ``dashboard-payments.png`` and ``dashboard-payment.png``.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import uvicorn
from playwright.sync_api import sync_playwright

from mockpay_core import Engine, SeededIds, SimulatedClock
from mockpay_core.config import DeliveryConfig, EngineConfig
from mockpay_core.domain.retry import RetrySchedule
from mockpay_core.storage.open import open_store
from server import create_app
from server.settings import Settings
from server.testing import flaky_receiver, free_port

START = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
ADMIN = "screenshots-admin-token-0123"
SCHEDULE = RetrySchedule(delays_s=(0, 30, 120), jitter=0)
ORDERS = (  # (amount, currency, description, customer, what happens to it)
    (49.99, "USD", "Red running shoes", "cus_ada", "success"),
    (120.00, "EUR", "Espresso machine", "cus_grace", "refund"),
    (15.50, "GBP", "Tea sampler", "cus_alan", "failed"),
    (899.00, "USD", "Road bicycle", "cus_edsger", "featured"),
    (5400, "JPY", "Notebook set", "cus_barbara", "success"),
    (64.00, "USD", "Desk lamp", "cus_ken", "dispute"),
    (250.00, "EUR", "Hotel deposit", "cus_grace", "authorized"),
    (32.00, "USD", "Coffee beans", "cus_ada", "pending"),
    (75.25, "SGD", "Headphones", "cus_linus", "success"),
)


def seed(engine: Engine, clock: SimulatedClock, flaky: str, ok: str) -> tuple[str, str]:
    """(the tenant's API key, the featured payment's id)."""
    new = engine.register_tenant("Acme Outdoor", "dev@acme.test")
    t, featured = new.tenant.id, ""
    for i, (amount, currency, description, customer, fate) in enumerate(ORDERS):
        clock.advance(timedelta(seconds=47))
        url = flaky if fate == "featured" else ok
        manual = fate == "authorized"
        p = engine.create_payment(
            t, amount=amount, currency=currency, webhook_url=url, idempotency_key=f"order-{i}",
            description=description, customer=customer,
            capture_method="manual" if manual else "automatic",
        ).value  # fmt: skip
        if fate == "pending":
            continue
        engine.simulate(t, p.id, "failed" if fate == "failed" else "success")
        if fate in ("refund", "featured"):
            engine.refund(t, p.id, 100 if fate == "featured" else 120, reason="returned")
        if fate == "dispute":
            engine.open_dispute(t, p.id, reason="fraudulent")
        featured = p.id if fate == "featured" else featured
    return new.api_key, featured


@contextmanager
def serving(settings: Settings, engine: Engine) -> Iterator[object]:
    app = create_app(settings, engine=engine)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=settings.port, log_level="error")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    try:
        yield app
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(Path(__file__).parent), help="folder for the PNGs")
    args = parser.parse_args()
    browser_path = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser_path is None:
        print("no Chromium on PATH: apt-get install chromium", file=sys.stderr)
        return 1
    tmp = Path(tempfile.mkdtemp())
    clock = SimulatedClock(START)
    config = EngineConfig(delivery=DeliveryConfig(schedule=SCHEDULE))
    engine = Engine(open_store(str(tmp / "shots.db")), clock=clock, ids=SeededIds(7), config=config)
    settings = Settings(db=str(tmp / "shots.db"), port=free_port(), admin_token=ADMIN,
                        clock="simulated")  # fmt: skip
    url = f"http://127.0.0.1:{settings.port}"
    with (
        flaky_receiver(failures=2) as flaky,
        flaky_receiver(failures=0) as ok,
        serving(settings, engine) as app,
    ):
        key, featured = seed(engine, clock, flaky.url, ok.url)
        for _ in range(6):  # the first attempts, then each retry as it falls due
            app.state.run_due()  # type: ignore[attr-defined]
            clock.advance(timedelta(seconds=61))
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=browser_path, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1200, "height": 760})
            page.goto(f"{url}/dashboard/login")
            page.fill("#key", key)
            page.click("button[type=submit]")
            page.wait_for_url(f"{url}/dashboard/payments")
            page.screenshot(path=str(Path(args.out) / "dashboard-payments.png"))
            page.goto(f"{url}/dashboard/payments/{featured}")
            page.screenshot(path=str(Path(args.out) / "dashboard-payment.png"), full_page=True)
            browser.close()
    shutil.rmtree(tmp, ignore_errors=True)
    print(f"wrote {args.out}/dashboard-payments.png and dashboard-payment.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
