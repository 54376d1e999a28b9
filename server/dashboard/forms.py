"""What a page's request brings: the signed-in viewer, and a form checked for its CSRF
token (parsed here: forms are URL-encoded, and this needs no multipart package)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Final
from urllib.parse import parse_qsl

from fastapi import Request

from mockpay_core.errors import ValidationError
from server.dashboard import session
from server.dashboard.session import Session

FORM_BYTES_MAX: Final = 16 * 1024
FIELD_LEN_MAX: Final = 1000


async def viewer(request: Request) -> Session:
    """The signed-in session (``AuthenticationError`` otherwise); a tenant's name is kept
    on the request for the page's header."""
    s = session.require_signed_in(session.current(request))
    if s.tenant_id is not None:
        tenant = await request.app.state.calls.read(lambda e: e.get_tenant(s.tenant_id))
        request.state.dashboard_name = tenant.name
    else:
        request.state.dashboard_name = "admin"
    return s


async def form(request: Request, s: Session) -> dict[str, str]:
    """The POSTed form's fields, once its CSRF token matches ``s``."""
    raw = await request.body()
    if len(raw) > FORM_BYTES_MAX:
        raise ValidationError(f"must be at most {FORM_BYTES_MAX} bytes", "form")
    try:
        pairs = parse_qsl(raw.decode(), keep_blank_values=True, max_num_fields=50)
    except (UnicodeDecodeError, ValueError):
        raise ValidationError("must be a URL-encoded form", "form") from None
    fields = {k: v for k, v in pairs if len(v) <= FIELD_LEN_MAX}
    session.check_csrf(s, request.app.state.dashboard_key, fields.get("csrf"))
    return fields


def blank_none(value: str | None) -> str | None:
    """A form's or a query's empty field is a filter not set."""
    return value if value else None


def amount(fields: dict[str, str], name: str = "amount") -> Decimal | None:
    """An amount in major units as typed (``12.50``); empty: none given."""
    text = fields.get(name, "").strip()
    if not text:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValidationError("must be a number such as 12.50", name) from None
    if not value.is_finite():
        raise ValidationError("must be a number such as 12.50", name)
    return value
