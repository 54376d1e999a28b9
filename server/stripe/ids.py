"""Stripe-shaped ids as a reversible mapping of ours.

Our ids are UUIDs; a Stripe id is its prefix and the UUID's 32 hex digits. An object that
the engine finds through its payment carries the payment's too, so that it can be read
without a table of its own: ``re_<payment><refund>``, ``du_<payment><dispute>``,
``evt_<payment><event>``. A charge is a payment's one charge: ``ch_<payment>``. One of our
events that Stripe announces as two (``charge.succeeded`` beside
``payment_intent.succeeded``) is two Stripe events: the second's id ends in ``_1``.
"""

from __future__ import annotations

import re
from typing import Final

from mockpay_core.errors import NotFound

PREFIXES: Final = {
    "payment_intent": "pi",
    "charge": "ch",
    "refund": "re",
    "dispute": "du",
    "event": "evt",
    "webhook_endpoint": "we",
    "customer": "cus",
    "payout": "po",
}
# How many of our ids each kind of Stripe id holds.
PARTS: Final = {
    "payment_intent": 1, "charge": 1, "refund": 2, "dispute": 2, "event": 2,
    "webhook_endpoint": 1, "customer": 1, "payout": 1,
}  # fmt: skip
_HEX32: Final = re.compile(r"[0-9a-f]{32}")


def _hex(uuid: str) -> str:
    return uuid.replace("-", "")


def _uuid(h: str) -> str:
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def encode(kind: str, *ours: str) -> str:
    """``encode("refund", payment_id, refund_id)`` -> ``"re_<32 hex><32 hex>"``."""
    return PREFIXES[kind] + "_" + "".join(_hex(u) for u in ours)


def decode(kind: str, stripe_id: str) -> tuple[str, ...]:
    """Our ids inside ``stripe_id``; ``NotFound`` (Stripe's resource_missing) for anything
    that is not an id of this kind."""
    prefix = PREFIXES[kind] + "_"
    body = stripe_id[len(prefix) :] if stripe_id.startswith(prefix) else ""
    chunks = [body[i : i + 32] for i in range(0, len(body), 32)]
    if len(body) != 32 * PARTS[kind] or not all(_HEX32.fullmatch(c) for c in chunks):
        raise NotFound(kind, stripe_id)
    return tuple(_uuid(c) for c in chunks)


def payment_of(stripe_id: str) -> str:
    """The payment behind a ``pi_`` or ``ch_`` id."""
    kind = "charge" if stripe_id.startswith("ch_") else "payment_intent"
    return decode(kind, stripe_id)[0]


# At most this many Stripe types stand for one event of ours (webhooks.webhook_types).
EVENT_TYPES_MAX: Final = 9
_EVENT_SUFFIXES: Final = frozenset(str(n) for n in range(1, EVENT_TYPES_MAX))


def encode_event(payment_id: str, event_id: str, n: int = 0) -> str:
    """The Stripe event that is the ``n``-th Stripe type of one of our events."""
    return encode("event", payment_id, event_id) + (f"_{n}" if n else "")


def decode_event(stripe_id: str) -> tuple[str, str, int]:
    """``(payment_id, event_id, n)`` of an ``evt_`` id; ``NotFound`` for anything else."""
    base, _, n = stripe_id.rpartition("_")
    if base.startswith("evt_") and n in _EVENT_SUFFIXES:
        payment_id, event_id = decode("event", base)
        return payment_id, event_id, int(n)
    payment_id, event_id = decode("event", stripe_id)
    return payment_id, event_id, 0
