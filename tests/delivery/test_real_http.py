"""Real HTTP to a receiver on 127.0.0.1; signatures checked with independent code."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
from pathlib import Path

import standardwebhooks

from mockpay_core import Engine, EngineConfig
from mockpay_core.config import DeliveryConfig
from mockpay_core.delivery.transport import GuardedTransport
from mockpay_core.domain.addresses import AddressPolicy
from mockpay_core.storage.sqlite import SqliteStore
from tests.delivery.receiver import running_receiver


def real_engine(tmp_path: Path, **delivery: object) -> Engine:
    config = EngineConfig(seed_default_fraud_rules=False, delivery=DeliveryConfig(**delivery))  # type: ignore[arg-type]
    return Engine(SqliteStore(str(tmp_path / "http.db")), config=config)


def pay(engine: Engine, tenant_id: str, url: str) -> str:
    p = engine.create_payment(
        tenant_id, amount=5000, currency="INR", webhook_url=url, idempotency_key=url + "x"
    ).value
    return engine.simulate(tenant_id, p.id, "success").value.id


def test_a_delivery_verifies_with_standardwebhooks_and_plain_hmac(tmp_path: Path) -> None:
    with running_receiver() as receiver, real_engine(tmp_path) as engine:
        tenant = engine.register_tenant("Acme", "dev@acme.test").tenant
        payment_id = pay(engine, tenant.id, receiver.url)
        dispatcher = engine.dispatcher()
        assert dispatcher.run_once() == 1
        dispatcher.close()
        ((headers, body),) = receiver.requests
        (event,) = engine.events(tenant.id, payment_id)
        payload = standardwebhooks.Webhook(tenant.webhook_secret).verify(body, headers)
        assert payload == event.payload == json.loads(body)
        assert headers["webhook-id"] == event.id
        assert headers["content-type"] == "application/json"
        expected = hmac.new(tenant.webhook_secret.encode(), body, hashlib.sha256).hexdigest()
        assert headers["x-mockpay-signature"] == f"sha256={expected}"
        (attempt,) = engine.delivery_attempts(tenant.id, event.id)
        assert (attempt.status_code, attempt.response_excerpt) == (200, "ok")


def test_redirects_are_not_followed(tmp_path: Path) -> None:
    with (
        running_receiver(status=302, location="http://127.0.0.1:1/elsewhere") as receiver,
        real_engine(tmp_path) as engine,
    ):
        tenant = engine.register_tenant("Acme", "dev@acme.test").tenant
        payment_id = pay(engine, tenant.id, receiver.url)
        engine.dispatcher().run_once()
        (delivery,) = engine.deliveries(tenant.id, payment_id)
        assert (delivery.status.value, delivery.last_error) == ("pending", "http_302")
        assert len(receiver.requests) == 1


def test_timeouts_and_refused_connections_fail_the_attempt(tmp_path: Path) -> None:
    with running_receiver(delay_s=1.0) as slow, real_engine(tmp_path, timeout_s=0.2) as engine:
        free = socket.socket()
        free.bind(("127.0.0.1", 0))
        closed_url = f"http://127.0.0.1:{free.getsockname()[1]}/hooks"
        free.close()
        tenant = engine.register_tenant("Acme", "dev@acme.test").tenant
        slow_id, closed_id = pay(engine, tenant.id, slow.url), pay(engine, tenant.id, closed_url)
        engine.dispatcher().run_once()
        errors = {d.payment_id: d.last_error for d in engine.deliveries(tenant.id)}
        assert errors == {slow_id: "timeout", closed_id: "connect_error"}


def test_the_guard_refuses_at_connect_time_after_resolution(tmp_path: Path) -> None:
    with running_receiver() as receiver, real_engine(tmp_path) as engine:
        port = receiver.url.split(":")[2].split("/")[0]
        tenant = engine.register_tenant("Acme", "dev@acme.test").tenant
        payment_id = pay(engine, tenant.id, f"http://hooks.example.test:{port}/hooks")
        guard = GuardedTransport(AddressPolicy(mode="public"), resolve=lambda h, p: ["127.0.0.1"])
        engine.dispatcher(transport=guard).run_once()
        (dead,) = engine.dead_letters(tenant.id)
        assert (dead.payment_id, dead.dead_reason) == (payment_id, "address_refused")
        assert receiver.requests == []
