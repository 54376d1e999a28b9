"""Signatures, checked with independent code: the standardwebhooks package and plain hmac."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pytest
import standardwebhooks

from mockpay_core.domain.signing import (
    SignatureError,
    delivery_headers,
    secret_key,
    sign_original,
    verify,
    verify_original,
)
from mockpay_core.webhooks import verify as public_verify

SECRET = "whsec_" + base64.b64encode(b"k" * 32).decode()
OLD = "whsec_" + base64.b64encode(b"o" * 32).decode()
BODY = b'{"event":"payment.success","payment_id":"p1","amount":"5000.00"}'


def test_standard_signature_verifies_with_the_standardwebhooks_package() -> None:
    now = datetime.now(UTC)
    headers = delivery_headers("evt_1", now, BODY, [SECRET])
    assert standardwebhooks.Webhook(SECRET).verify(BODY, headers)["payment_id"] == "p1"
    with pytest.raises(standardwebhooks.WebhookVerificationError):
        standardwebhooks.Webhook(OLD).verify(BODY, headers)
    with pytest.raises(standardwebhooks.WebhookVerificationError):
        standardwebhooks.Webhook(SECRET).verify(BODY + b" ", headers)


def test_original_signature_is_plain_hmac_of_the_body_keyed_with_the_string() -> None:
    expected = hmac.new(SECRET.encode(), BODY, hashlib.sha256).hexdigest()
    assert sign_original(BODY, SECRET) == f"sha256={expected}"
    headers = delivery_headers("evt_1", datetime.now(UTC), BODY, [SECRET, OLD])
    assert headers["X-MockPay-Signature"] == f"sha256={expected}"
    verify_original(BODY, headers["X-MockPay-Signature"], SECRET)
    with pytest.raises(SignatureError):
        verify_original(BODY, "sha256=" + "0" * 64, SECRET)


def test_rotation_carries_both_signatures_and_either_secret_verifies() -> None:
    now = datetime.now(UTC)
    headers = delivery_headers("evt_1", now, BODY, [SECRET, OLD])
    assert len(headers["webhook-signature"].split(" ")) == 2
    for secret in (SECRET, OLD):
        standardwebhooks.Webhook(secret).verify(BODY, headers)
        assert verify(BODY, headers, secret, now) == "evt_1"


def test_our_verify_refuses_what_it_should() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    headers = delivery_headers("evt_1", now, BODY, [SECRET])
    assert verify(BODY, headers, SECRET, now + timedelta(seconds=300)) == "evt_1"
    cases = [
        (BODY, headers, SECRET, now + timedelta(seconds=301), "too old"),
        (BODY, headers, SECRET, now - timedelta(seconds=301), "future"),
        (BODY + b"x", headers, SECRET, now, "no signature matches"),
        (BODY, headers, OLD, now, "no signature matches"),
        (BODY, {**headers, "webhook-id": "evt_2"}, SECRET, now, "no signature matches"),
        (BODY, {**headers, "webhook-timestamp": "soon"}, SECRET, now, "unix seconds"),
        (BODY, {"webhook-id": "evt_1"}, SECRET, now, "missing"),
    ]
    for body, hdrs, secret, at, reason in cases:
        with pytest.raises(SignatureError, match=reason):
            verify(body, hdrs, secret, at)


def test_public_verify_uses_the_wall_clock_and_upper_cased_headers() -> None:
    headers = delivery_headers("evt_9", datetime.now(UTC), BODY, [SECRET])
    assert public_verify(BODY, {k.upper(): v for k, v in headers.items()}, SECRET) == "evt_9"


def test_secret_key_refuses_bad_secrets() -> None:
    assert secret_key(SECRET) == b"k" * 32
    for bad in ("whsec_", "whsec_!!!", "whsec_a"):
        with pytest.raises(SignatureError):
            secret_key(bad)
