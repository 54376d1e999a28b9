"""For your webhook receiver: verify that a delivery came from MockPay Lab, recently.

    from mockpay_core.webhooks import verify, SignatureError

    try:
        event_id = verify(request_body_bytes, request_headers, "whsec_...")
    except SignatureError:
        return 400
    if already_processed(event_id):   # deliveries are at least once: dedupe on the id
        return 200

``verify`` checks the Standard Webhooks signature (constant-time comparison, any of the
space-separated signatures during a secret rotation) and that ``webhook-timestamp`` is within
``tolerance_s`` of now, so a captured delivery cannot be replayed later.
``verify_original`` checks the original's ``X-MockPay-Signature`` (no replay protection).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from mockpay_core.domain.signing import (
    ORIGINAL_HEADER,
    TOLERANCE_S_DEFAULT,
    SignatureError,
    sign_original,
    sign_standard,
    verify_original,
)
from mockpay_core.domain.signing import verify as _verify

__all__ = [
    "ORIGINAL_HEADER",
    "SignatureError",
    "sign_original",
    "sign_standard",
    "verify",
    "verify_original",
]


def verify(
    body: bytes,
    headers: Mapping[str, str],
    secret: str,
    tolerance_s: int = TOLERANCE_S_DEFAULT,
    now: datetime | None = None,
) -> str:
    """The delivery's ``webhook-id`` if it verifies; ``SignatureError`` saying why if not."""
    return _verify(body, headers, secret, now or datetime.now(UTC), tolerance_s)
