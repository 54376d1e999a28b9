"""``mockpay listen``: a local webhook receiver that prints what arrives and checks it.

Like ``stripe listen``: point a payment's ``webhook_url`` at ``http://127.0.0.1:4000/`` and
watch deliveries arrive, each with its Standard Webhooks and original signatures verified
against ``--secret`` (when given). With ``--stripe`` it is a WebhookEndpoint's receiver:
it checks ``Stripe-Signature`` as ``stripe.Webhook.construct_event`` does (300 s
tolerance) against the endpoint's ``whsec_`` secret. It answers 200 (or ``--status``).
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TextIO

from mockpay_core.domain.signing import (
    ORIGINAL_HEADER,
    STRIPE_HEADER,
    SignatureError,
    verify,
    verify_original,
    verify_stripe,
)

BODY_BYTES_MAX = 1_048_576


def describe(body: bytes, headers: dict[str, str], secret: str | None, now: datetime) -> str:
    """One line about a delivery: what it is, and whether its signatures hold."""
    try:
        payload = json.loads(body)
        fields = (payload.get(k, "?") for k in ("event", "payment_id", "status"))
        what = " ".join(str(f) for f in fields)
    except (ValueError, AttributeError):
        what = f"(not JSON, {len(body)} bytes)"
    line = f"{now:%H:%M:%S} {headers.get('webhook-id', '-')} {what}".rstrip()
    if secret is None:
        return line + "  (no --secret: signatures not checked)"
    checks = []
    try:
        verify(body, headers, secret, now)
        checks.append("webhook-signature ok")
    except SignatureError as exc:
        checks.append(f"webhook-signature BAD ({exc})")
    try:
        verify_original(body, headers.get(ORIGINAL_HEADER.lower()), secret)
        checks.append(f"{ORIGINAL_HEADER} ok")
    except SignatureError:
        checks.append(f"{ORIGINAL_HEADER} BAD")
    return f"{line}  [{', '.join(checks)}]"


def describe_stripe(body: bytes, headers: dict[str, str], secret: str | None, now: datetime) -> str:
    """One line about a Stripe-signed delivery: event id, type, object, and the signature."""
    try:
        event = json.loads(body)
        data = event.get("data", {}).get("object", {})
        what = f"{event.get('id', '?')} {event.get('type', '?')} {data.get('id', '?')}"
    except (ValueError, AttributeError):
        what = f"(not JSON, {len(body)} bytes)"
    line = f"{now:%H:%M:%S} {what}"
    if secret is None:
        return line + "  (no --secret: signature not checked)"
    try:
        verify_stripe(body, headers.get(STRIPE_HEADER.lower()), secret, now)
        return f"{line}  [{STRIPE_HEADER} ok]"
    except SignatureError as exc:
        return f"{line}  [{STRIPE_HEADER} BAD ({exc})]"


def listen(
    host: str,
    port: int,
    secret: str | None,
    status: int,
    out: TextIO = sys.stdout,
    stripe: bool = False,
) -> None:
    show = describe_stripe if stripe else describe

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(min(length, BODY_BYTES_MAX))
            headers = {k.lower(): v for k, v in self.headers.items()}
            print(show(body, headers, secret, datetime.now(UTC)), file=out, flush=True)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer((host, port), Handler)
    print(f"mockpay listen: webhooks to http://{host}:{port}/ (Ctrl-C stops)", file=out, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
