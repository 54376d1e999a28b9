"""``mockpay listen`` prints each delivery and checks both signatures."""

from __future__ import annotations

import base64
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from mockpay_core.domain.signing import delivery_headers, stripe_headers
from mockpay_core.listen import describe, describe_stripe

SECRET = "whsec_" + base64.b64encode(b"s" * 32).decode()
BODY = b'{"event":"payment.success","payment_id":"p1","status":"success"}'


def test_describe() -> None:
    now = datetime.now(UTC)
    headers = {k.lower(): v for k, v in delivery_headers("evt_1", now, BODY, [SECRET]).items()}
    line = describe(BODY, headers, SECRET, now)
    assert "evt_1 payment.success p1 success" in line
    assert "webhook-signature ok" in line and "X-MockPay-Signature ok" in line
    forged = describe(BODY.replace(b"p1", b"p2"), headers, SECRET, now)
    assert "webhook-signature BAD" in forged and "X-MockPay-Signature BAD" in forged
    assert "not checked" in describe(b"junk", {}, None, now)


STRIPE_BODY = b'{"id":"evt_1","type":"charge.refunded","data":{"object":{"id":"ch_1"}}}'


def test_describe_stripe() -> None:
    now = datetime.now(UTC)
    headers = {k.lower(): v for k, v in stripe_headers(STRIPE_BODY, SECRET, now).items()}
    line = describe_stripe(STRIPE_BODY, headers, SECRET, now)
    assert "evt_1 charge.refunded ch_1" in line and "Stripe-Signature ok" in line
    forged = describe_stripe(STRIPE_BODY.replace(b"ch_1", b"ch_2"), headers, SECRET, now)
    assert "Stripe-Signature BAD (no v1 signature matches)" in forged
    late = describe_stripe(STRIPE_BODY, headers, SECRET, now + timedelta(seconds=301))
    assert "Stripe-Signature BAD (timestamp too old" in late
    assert "BAD" in describe_stripe(STRIPE_BODY, {}, SECRET, now)
    assert "not checked" in describe_stripe(b"junk", {}, None, now)


@pytest.mark.parametrize("stripe", [False, True])
def test_the_command_receives_and_reports(stripe: bool) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "mockpay_core.cli", "listen", "--port", str(port),
         "--secret", SECRET, *(["--stripe"] if stripe else [])],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        assert "mockpay listen" in proc.stdout.readline()
        body = STRIPE_BODY if stripe else BODY
        headers = (
            stripe_headers(body, SECRET, datetime.now(UTC)) if stripe
            else delivery_headers("evt_9", datetime.now(UTC), body, [SECRET])
        )  # fmt: skip
        for _ in range(100):
            try:
                r = httpx.post(f"http://127.0.0.1:{port}/", content=body, headers=headers)
                break
            except httpx.ConnectError:
                time.sleep(0.05)
        assert r.status_code == 200
        line = proc.stdout.readline()
        if stripe:
            assert "evt_1 charge.refunded ch_1" in line and "Stripe-Signature ok" in line
        else:
            assert "evt_9 payment.success p1" in line and "webhook-signature ok" in line
    finally:
        proc.terminate()
        proc.wait(timeout=10)
