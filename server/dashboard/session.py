"""Who is looking: a signed session cookie, and the CSRF token every form carries.

The cookie holds no key: only a random nonce, who signed in (a tenant's id, or the admin)
and when it expires, signed with HMAC-SHA256 under a key derived from the admin token (so
every worker process of one server accepts it, and a new admin token signs everyone out).
A visitor who has not signed in gets a session too, so that the sign-in form has a CSRF
token of its own. The CSRF token is an HMAC of the nonce: a page of another site cannot read
it, and SameSite=Strict keeps the cookie off its requests anyway.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass

from fastapi import Request
from fastapi.responses import Response

from mockpay_core.errors import AuthenticationError
from server.errors import CsrfRejected

COOKIE = "mockpay_dashboard"
SESSION_S = 8 * 3600
COOKIE_BYTES_MAX = 1024
_CONTEXT = b"mockpay dashboard session v1"


@dataclass(frozen=True, slots=True)
class Session:
    nonce: str
    tenant_id: str | None  # None with admin False: signed out
    admin: bool
    expires_s: float

    @property
    def signed_in(self) -> bool:
        return self.admin or self.tenant_id is not None


def signing_key(admin_token: str) -> bytes:
    return hmac.new(admin_token.encode(), _CONTEXT, hashlib.sha256).digest()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def new_session(
    tenant_id: str | None = None, admin: bool = False, now_s: float | None = None
) -> Session:
    now_s = time.time() if now_s is None else now_s
    return Session(secrets.token_urlsafe(18), tenant_id, admin, now_s + SESSION_S)


def encode(session: Session, key: bytes) -> str:
    body = _b64(json.dumps(
        [session.nonce, session.tenant_id, session.admin, int(session.expires_s)],
        separators=(",", ":"),
    ).encode())  # fmt: skip
    return f"{body}.{_b64(hmac.new(key, body.encode(), hashlib.sha256).digest())}"


def decode(cookie: str | None, key: bytes, now_s: float | None = None) -> Session | None:
    """The session a cookie holds; None when it is missing, forged, malformed or expired."""
    if not cookie or len(cookie) > COOKIE_BYTES_MAX or cookie.count(".") != 1:
        return None
    body, mac = cookie.split(".")
    expected = _b64(hmac.new(key, body.encode(), hashlib.sha256).digest())
    if not hmac.compare_digest(mac, expected):
        return None
    try:
        nonce, tenant_id, admin, expires_s = json.loads(_unb64(body))
    except (ValueError, TypeError):
        return None
    if (time.time() if now_s is None else now_s) >= expires_s:
        return None
    return Session(str(nonce), tenant_id, bool(admin), float(expires_s))


def csrf_token(session: Session, key: bytes) -> str:
    return _b64(hmac.new(key, b"csrf:" + session.nonce.encode(), hashlib.sha256).digest())


def check_csrf(session: Session, key: bytes, sent: str | None) -> None:
    if not sent or not hmac.compare_digest(sent, csrf_token(session, key)):
        raise CsrfRejected("The form's CSRF token is missing or stale: reload the page")


def current(request: Request) -> Session:
    """The request's session: the cookie's, or a new signed-out one (set on the response
    by ``remember``)."""
    key: bytes = request.app.state.dashboard_key
    found = decode(request.cookies.get(COOKIE), key)
    if found is None:
        found = new_session()
        request.state.dashboard_new_session = found
    return found


def require_signed_in(session: Session) -> Session:
    if not session.signed_in:
        raise AuthenticationError("Sign in to see the dashboard")
    return session


def remember(request: Request, response: Response, session: Session | None = None) -> None:
    """Set the cookie for ``session``, or for the new one ``current`` made, if any."""
    session = session or getattr(request.state, "dashboard_new_session", None)
    if session is None:
        return
    response.set_cookie(
        COOKIE, encode(session, request.app.state.dashboard_key), max_age=SESSION_S,
        path="/dashboard", httponly=True, samesite="strict",
    )  # fmt: skip


def forget(response: Response) -> None:
    response.delete_cookie(COOKIE, path="/dashboard", httponly=True, samesite="strict")
