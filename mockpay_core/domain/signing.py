"""Webhook signatures: the original's scheme and Standard Webhooks, both on every delivery.

- Original: ``X-MockPay-Signature: sha256=<hex HMAC-SHA256(body)>``, keyed with the secret
  string's UTF-8 bytes. It carries no timestamp, so a captured delivery verifies forever.
- Standard Webhooks (https://www.standardwebhooks.com): ``webhook-id`` (the event id, the
  same on every retry), ``webhook-timestamp`` (unix seconds of sending) and
  ``webhook-signature: v1,<base64 HMAC-SHA256("id.timestamp.body")>``, keyed with the
  base64-decoded bytes after ``whsec_``. Several signatures may be sent space-separated
  (secret rotation); a receiver accepts the message if any one matches, and refuses
  timestamps outside its tolerance, which bounds replays.
- Stripe (a WebhookEndpoint's deliveries): ``Stripe-Signature: t=<unix>,v1=<hex
  HMAC-SHA256("t." + body)>``, keyed with the whole ``whsec_`` string's UTF-8 bytes, as
  Stripe's SDKs (``Webhook.construct_event``) compute it.

Pure functions of their arguments: the time is passed in.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Final

SECRET_PREFIX: Final = "whsec_"
ORIGINAL_HEADER: Final = "X-MockPay-Signature"
STRIPE_HEADER: Final = "Stripe-Signature"
TOLERANCE_S_DEFAULT: Final = 300


class SignatureError(ValueError):
    """A delivery that does not verify; the message says why."""


def secret_key(secret: str) -> bytes:
    """The HMAC key of a ``whsec_`` secret (its base64-decoded bytes)."""
    try:
        key = base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    except (binascii.Error, ValueError):
        raise SignatureError("the secret is not whsec_ + base64") from None
    if not key:
        raise SignatureError("the secret is empty")
    return key


def sign_original(body: bytes, secret: str) -> str:
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def sign_standard(msg_id: str, timestamp: int, body: bytes, secret: str) -> str:
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def delivery_headers(
    msg_id: str, sent_at: datetime, body: bytes, secrets: Iterable[str]
) -> dict[str, str]:
    """Every header a delivery carries; ``secrets`` first is the current one."""
    keys = list(secrets)
    timestamp = int(sent_at.timestamp())
    return {
        "Content-Type": "application/json",
        ORIGINAL_HEADER: sign_original(body, keys[0]),
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(sign_standard(msg_id, timestamp, body, k) for k in keys),
    }


def verify(
    body: bytes,
    headers: Mapping[str, str],
    secret: str,
    now: datetime,
    tolerance_s: int = TOLERANCE_S_DEFAULT,
) -> str:
    """Check a Standard Webhooks delivery; return its ``webhook-id`` or raise SignatureError.

    Comparison is constant-time (``hmac.compare_digest``), so a forger learns nothing from
    how long a refusal takes.
    """
    lower = {k.lower(): v for k, v in headers.items()}
    msg_id, stamp, given = (
        lower.get(h) for h in ("webhook-id", "webhook-timestamp", "webhook-signature")
    )
    if not (msg_id and stamp and given):
        raise SignatureError("missing webhook-id, webhook-timestamp or webhook-signature")
    try:
        timestamp = int(stamp)
    except ValueError:
        raise SignatureError("webhook-timestamp is not unix seconds") from None
    age_s = now.timestamp() - timestamp
    if age_s > tolerance_s:
        raise SignatureError(f"timestamp too old ({int(age_s)} s > {tolerance_s} s): a replay?")
    if -age_s > tolerance_s:
        raise SignatureError("timestamp too far in the future")
    expected = sign_standard(msg_id, timestamp, body, secret).encode()
    if any(hmac.compare_digest(expected, sig.encode()) for sig in given.split()):
        return msg_id
    raise SignatureError("no signature matches")


def verify_original(body: bytes, header: str | None, secret: str) -> None:
    """The original's check: constant-time, but with no timestamp to bound replays."""
    if not header or not hmac.compare_digest(header.encode(), sign_original(body, secret).encode()):
        raise SignatureError("X-MockPay-Signature does not match")


def sign_stripe(body: bytes, secret: str, timestamp_s: int) -> str:
    """The ``Stripe-Signature`` header of ``body`` sent at ``timestamp_s``."""
    signed = f"{timestamp_s}.".encode() + body
    digest = hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp_s},v1={digest}"


def stripe_headers(body: bytes, secret: str, sent_at: datetime) -> dict[str, str]:
    """Every header a delivery to a WebhookEndpoint carries."""
    return {
        "Content-Type": "application/json; charset=utf-8",
        STRIPE_HEADER: sign_stripe(body, secret, int(sent_at.timestamp())),
    }


def verify_stripe(
    body: bytes,
    header: str | None,
    secret: str,
    now: datetime,
    tolerance_s: int = TOLERANCE_S_DEFAULT,
) -> int:
    """``stripe.Webhook.construct_event``'s checks: a ``t=`` and a ``v1=`` that matches
    (any of several), the timestamp at most ``tolerance_s`` old. Returns the timestamp."""
    parts = [item.split("=", 1) for item in (header or "").split(",") if "=" in item]
    stamps = [v for k, v in parts if k.strip() == "t"]
    given = [v.strip() for k, v in parts if k.strip() == "v1"]
    if not stamps or not given:
        raise SignatureError("Stripe-Signature has no t= or no v1= part")
    try:
        timestamp = int(stamps[0])
    except ValueError:
        raise SignatureError("Stripe-Signature's t= is not unix seconds") from None
    expected = sign_stripe(body, secret, timestamp).rsplit("v1=", 1)[1].encode()
    if not any(hmac.compare_digest(expected, sig.encode()) for sig in given):
        raise SignatureError("no v1 signature matches")
    age_s = now.timestamp() - timestamp
    if age_s > tolerance_s:
        raise SignatureError(f"timestamp too old ({int(age_s)} s > {tolerance_s} s): a replay?")
    return timestamp
