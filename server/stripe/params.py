"""Reading a /v1 request: its parameters (form body or query string), typed one by one in
Stripe's words, and its idempotency key as the engine keys of the commands it runs."""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from decimal import Decimal
from typing import Any, Final

from fastapi import Request

from mockpay_core.domain.money import CURRENCY_EXPONENTS
from mockpay_core.errors import ValidationError
from server.stripe import forms

KEY_PREFIX: Final = "stripe:"
LIMIT_DEFAULT: Final = 10
LIMIT_MAX: Final = 100
_INTEGER: Final = re.compile(r"-?[0-9]{1,18}")


async def of(request: Request) -> dict[str, Any]:
    """The request's parameters: its query string, and for a POST its body over it."""
    found = forms.parse(request.url.query) if request.url.query else {}
    if request.method == "POST":
        raw = await request.body()
        found.update(forms.parse_body(raw, request.headers.get("content-type")))
    return found


def text(params: dict[str, Any], name: str, required: bool = False) -> str | None:
    value = params.get(name)
    if value is None or value == "":
        if required:
            raise ValidationError(f"Missing required param: {name}.", name)
        return None
    if not isinstance(value, str):
        raise ValidationError(f"Invalid string: {name}", name)
    return value


def integer(params: dict[str, Any], name: str, required: bool = False) -> int | None:
    """An integer parameter: ASCII digits, an optional minus sign (an empty value is no
    integer; absent, it is None unless ``required``)."""
    value = params.get(name)
    if value is None or (required and value == ""):
        if required:
            raise ValidationError(f"Missing required param: {name}.", name)
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if not isinstance(value, str) or not _INTEGER.fullmatch(value):
        raise ValidationError(f"Invalid integer: {str(value)[:40]}", name)
    return int(value)


def boolean(params: dict[str, Any], name: str) -> bool:
    value: object = params.get(name, False)
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return value == "true"
    raise ValidationError(f"Invalid boolean: {value}", name)


def expand(params: dict[str, Any]) -> frozenset[str]:
    value = params.get("expand") or []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValidationError("expand must be a list of field names", "expand")
    return frozenset(value)


def metadata(params: dict[str, Any]) -> dict[str, str] | None:
    value = params.get("metadata")
    if value is None or value == "":
        return None
    if not isinstance(value, dict):
        raise ValidationError("Invalid object", "metadata")
    return value


def major(amount_minor: int, currency: str, name: str = "amount") -> Decimal:
    """An amount in minor units (Stripe's) as the engine's major units."""
    if amount_minor <= 0:
        raise ValidationError("This value must be greater than or equal to 1.", name)
    return Decimal(amount_minor).scaleb(-CURRENCY_EXPONENTS.get(currency.upper(), 2))


def limit(params: dict[str, Any]) -> int:
    n = integer(params, "limit")
    if n is None:
        return LIMIT_DEFAULT
    if not 1 <= n <= LIMIT_MAX:
        raise ValidationError(f"limit must be between 1 and {LIMIT_MAX}", "limit")
    return n


def idempotency_key(request: Request) -> str:
    """The engine key of the request's first command: ``stripe:`` and the client's
    Idempotency-Key (apart from the keys of /api), or a fresh one when it sent none."""
    sent = request.headers.get("idempotency-key")
    return KEY_PREFIX + (sent if sent else "auto:" + secrets.token_hex(16))


def step_key(key: str, step: str) -> str:
    """The engine key of a later command of the same request (create, then confirm)."""
    return f"{key}#{step}"


def fingerprint(params: dict[str, Any]) -> str:
    """A digest of every parameter but ``expand`` (which changes the answer's shape, not
    what is done): the same key with another digest is Stripe's idempotency_error."""
    kept = {k: v for k, v in params.items() if k != "expand"}
    return hashlib.sha256(json.dumps(kept, sort_keys=True).encode()).hexdigest()[:40]
