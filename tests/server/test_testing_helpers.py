"""The helpers our users put in their own test suites (the README shows this file's code)."""

from __future__ import annotations

import asyncio

import httpx

from server.testing import RunningServer, asgi_client


# README: pytest fixture
def test_checkout_against_mockpay(mockpay_server: RunningServer) -> None:
    headers = {**mockpay_server.auth, "Idempotency-Key": "order-1001"}
    body = {"amount": 49.99, "currency": "USD", "webhook_url": "http://127.0.0.1:9/hooks"}
    created = httpx.post(f"{mockpay_server.url}/api/payments", json=body, headers=headers)
    assert created.status_code == 201
    payment_id = created.json()["payment_id"]
    settled = httpx.post(
        f"{mockpay_server.url}/api/payments/{payment_id}/simulate",
        json={"status": "success"},
        headers=mockpay_server.auth,
    )
    assert settled.json()["status"] == "success"


# README: end


# README: ASGI client
def test_without_sockets() -> None:
    async def main() -> None:
        async with asgi_client() as client:
            r = await client.post("/api/auth/register", json={"name": "A", "email": "a@x.test"})
            key = r.json()["api_key"]
            listed = await client.get("/api/payments", headers={"Authorization": f"Bearer {key}"})
            assert listed.json() == {"data": [], "total": 0, "has_more": False, "next_cursor": None}

    asyncio.run(main())


# README: end
