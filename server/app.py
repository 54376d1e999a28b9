"""The FastAPI application: ``create_app`` wires settings, the engine and the routers.

The engine is synchronous (sqlite3, psycopg). Tenant routes run its calls through
``EngineCalls`` (server/calls.py: on SQLite, commands batched on one writer thread, reads on
the event loop); admin routes are plain ``def`` functions, which FastAPI runs on its thread
pool: they are rare, and some (the clock's advance, exports) take long.
"""

from __future__ import annotations

import gc
import logging
import random
import secrets
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Final

from anyio import to_thread
from fastapi import FastAPI

from mockpay_core import Engine, SimulatedClock, SystemClock
from mockpay_core.storage.open import open_store
from server import dashboard, errors, logs, stripe
from server.calls import EngineCalls
from server.keycache import KeyCache
from server.middleware import RequestMiddleware
from server.ratelimit import RateLimiter, SharedWindows, Windows
from server.routers import admin, auth, balance, export, payments, webhooks
from server.settings import Settings
from server.stripe import webhooks as stripe_webhooks

log = logging.getLogger("mockpay.server")
BACKGROUND_TICK_S = 0.2
# Young collections every 10,000 allocations rather than 700 (each walks at most that many
# young objects, well under a millisecond).
GC_THRESHOLDS: Final = (10_000, 20, 100)


def settle_heap() -> None:
    """Freeze what start-up built (FastAPI's routes and models, pydantic's schemas, the
    engine) so that the garbage collector never walks it again.

    bench/serve.py, creates at 8 connections, one process: a full collection walked all of
    it while holding the GIL, 20 to 30 ms each time, and set p99 at 41 ms (p50 8 ms).
    Frozen, with ``GC_THRESHOLDS``: p99 14 ms and 8 % more requests per second.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def _engine(settings: Settings) -> Engine:
    clock = SimulatedClock() if settings.clock == "simulated" else SystemClock()
    config = settings.engine_config()
    options: dict[str, Any] = {}
    if settings.durability is not None:
        options["durability"] = settings.durability
    return Engine(open_store(settings.db, **options), clock=clock, config=config)


def from_environment(shared_windows: str | None = None) -> FastAPI:
    """The app from ``MOCKPAY_*`` variables: uvicorn's factory for several worker processes,
    each of which logs as ``mockpay serve`` does and counts rate limits in the
    ``shared_windows`` file when its supervisor made one."""
    logs.configure()
    windows = None if shared_windows is None else SharedWindows(shared_windows)
    return create_app(Settings(), windows=windows)


def create_app(
    settings: Settings | None = None,
    engine: Engine | None = None,
    windows: Windows | None = None,
) -> FastAPI:
    """The app over ``engine`` (or one opened from ``settings.db``); rate limits counted in
    ``windows`` (by default, in this process)."""
    settings = settings or Settings()
    engine = engine or _engine(settings)
    engine.set_fanout(stripe_webhooks.fanout)  # copies for the tenants' WebhookEndpoints
    calls = EngineCalls(engine, writers=settings.writer_threads())
    dispatcher = engine.dispatcher()
    rng = random.Random()
    lock = threading.Lock()
    stop = threading.Event()

    def run_due(backlog_only: bool = False) -> dict[str, int]:
        """What the clock has made due: expiries, auto-settlement, webhook deliveries (all
        of them, or with ``backlog_only`` full batches and one more: the background thread
        comes back in ``BACKGROUND_TICK_S``)."""
        with lock:
            done = engine.run_due()
            if settings.settle_after_s is not None:
                done["payments_settled"] = engine.settle_pending(
                    settings.settle_after_s, settings.settle_success_p, rng
                )
            if settings.deliver_webhooks:
                deliver = dispatcher.run_backlog if backlog_only else dispatcher.run_until_idle
                done["webhook_attempts"] = deliver()
            return done

    def background() -> None:
        while not stop.wait(BACKGROUND_TICK_S):
            try:
                run_due(backlog_only=True)
            except Exception:  # keep serving; the next tick tries again
                log.exception("background work failed")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Route functions run on anyio's thread pool; its size is ours to choose.
        to_thread.current_default_thread_limiter().total_tokens = settings.engine_threads()
        settle_heap()
        worker = None
        if settings.clock == "system":
            worker = threading.Thread(target=background, name="mockpay-background", daemon=True)
            worker.start()
        yield
        stop.set()
        if worker is not None:
            worker.join(timeout=10)
        calls.close()
        dispatcher.close()
        if isinstance(windows, SharedWindows):
            windows.close()

    app = FastAPI(
        responses=errors.RESPONSES,
        title="MockPay Lab",
        version="0.1.0",
        description="A payment-gateway simulator: MockPay's API, fixed and extended.",
        lifespan=lifespan,
        # FastAPI's own OpenTelemetry: off. Unconfigured, it still checked for providers on
        # every request (3 % of the event loop's time); our JSON log lines carry the ids.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.engine = engine
    app.state.calls = calls
    app.state.settings = settings
    app.state.admin_token = settings.admin_token or secrets.token_urlsafe(24)
    app.state.run_due = run_due
    app.state.ratelimiter = RateLimiter(engine.clock, windows=windows)
    app.state.keys = KeyCache()
    errors.install(app)
    routers = (auth, payments, balance, webhooks, admin, export)
    for module in routers:
        app.include_router(module.router)
    app.include_router(stripe.router)  # /v1: Stripe's API for its SDKs (docs/stripe.md)
    dashboard.install(app, app.state.admin_token)  # /dashboard: pages for people

    app.add_middleware(RequestMiddleware, body_bytes_max=settings.body_bytes_max)

    @app.get("/health", tags=["meta"], summary="Liveness")
    def health() -> dict[str, Any]:
        return {"status": "ok"}

    @app.get("/", tags=["meta"], summary="What this is")
    def root() -> dict[str, Any]:
        return {"name": "MockPay Lab", "docs": "/docs", "openapi": "/openapi.json"}

    return app
