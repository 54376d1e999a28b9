"""One pure ASGI middleware: request ids, the body-size limit, rate-limit headers, the log line.

Pure ASGI rather than ``@app.middleware("http")``: Starlette's BaseHTTPMiddleware wraps
every response in an extra task and stream, which cost measurable CPU per request.
"""

from __future__ import annotations

import json
import random
import time
from typing import Any, Final

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server import errors, logs

_V4_MASK: Final = ~(0xF << 76 | 0x3 << 62) & ((1 << 128) - 1)
_V4_BITS: Final = 0x4 << 76 | 0x2 << 62


def new_request_id() -> str:
    """A random version-4 UUID from ``random`` rather than ``os.urandom``: a request id must
    be unique, not secret, and ``os.urandom`` is a system call that gives up the GIL, which
    the writer thread then holds (6 % of the event loop's samples under load)."""
    h = f"{random.getrandbits(128) & _V4_MASK | _V4_BITS:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


class RequestMiddleware:
    def __init__(self, app: ASGIApp, body_bytes_max: int) -> None:
        self.app, self.body_bytes_max = app, body_bytes_max

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        request_id = headers.get("request-id") or new_request_id()
        if scope["path"].startswith("/v1/"):  # Stripe's API: Stripe's form, req_...
            request_id = "req_" + request_id.replace("-", "")
        started, status = time.perf_counter(), 500
        state: dict[str, Any] = scope.setdefault("state", {})

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                extra = {"request-id": request_id}
                decision = state.get("ratelimit")
                if decision is not None:
                    extra.update({k.lower(): v for k, v in decision.headers().items()})
                message["headers"] = [
                    *message.get("headers", []),
                    *((k.encode(), v.encode()) for k, v in extra.items()),
                ]
            await send(message)

        length = headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > self.body_bytes_max):
            body = errors.body(f"Request body over {self.body_bytes_max} bytes", "body_too_large")
            json_type = [(b"content-type", b"application/json")]
            await send_with_headers(
                {"type": "http.response.start", "status": 413, "headers": json_type}
            )
            await send({"type": "http.response.body", "body": json.dumps(body).encode()})
        else:
            await self.app(scope, receive, send_with_headers)
        path_params = scope.get("path_params") or {}
        logs.request_done({
            "request_id": request_id, "method": scope["method"], "path": scope["path"],
            "status": status, "duration_ms": round((time.perf_counter() - started) * 1000, 2),
            "tenant_id": state.get("tenant_id"),
            "payment_id": path_params.get("payment_id") or state.get("payment_id"),
        })  # fmt: skip
