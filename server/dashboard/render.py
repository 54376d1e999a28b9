"""Pages: the Jinja2 environment, its filters, and the route class that turns an engine
error into an HTML page with the status ``server/errors.py`` maps it to."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from mockpay_core.domain.money import format_major
from mockpay_core.errors import AuthenticationError, MockPayError, ValidationError
from server.dashboard import session
from server.errors import UNEXPECTED, status_of

TEMPLATES = Path(__file__).parent / "templates"
PREFIX = "/dashboard"

env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(("html", "svg")),
    undefined=StrictUndefined,  # a misspelt name is an error in the tests, not a blank
    trim_blocks=True,
    lstrip_blocks=True,
)


def money(minor: int | None, currency: str) -> str:
    """Major units with the currency: ``12.50 USD``, ``1250 JPY``."""
    return "" if minor is None else f"{format_major(minor, currency)} {currency}"


def when(at: datetime | None) -> str:
    return "" if at is None else at.strftime("%Y-%m-%d %H:%M:%S") + " UTC"


env.filters["money"] = money
env.filters["major"] = format_major
env.filters["when"] = when


def page(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    """``template`` rendered for the request's viewer (nav, CSRF token), cookie kept."""
    s = session.current(request)
    key: bytes = request.app.state.dashboard_key
    html = env.get_template(template).render(
        prefix=PREFIX, viewer=s, csrf=session.csrf_token(s, key),
        viewer_name=getattr(request.state, "dashboard_name", ""), **context,
    )  # fmt: skip
    response = HTMLResponse(html, status)
    session.remember(request, response)
    return response


def fragment(template: str, **context: Any) -> str:
    return env.get_template(template).render(prefix=PREFIX, **context)


def see_other(path: str) -> RedirectResponse:
    return RedirectResponse(PREFIX + path, status_code=303)


def _field(loc: tuple[object, ...] | list[object]) -> str:
    return ".".join(str(p) for p in loc if p not in ("query", "path", "body")) or "request"


def error_page(request: Request, exc: MockPayError) -> Response:
    status = status_of(exc)
    if isinstance(exc, AuthenticationError) and request.method == "GET":
        return see_other("/login")
    message = UNEXPECTED if status == 500 else exc.message
    return page(request, "error.html", status, http_status=status, message=message, code=exc.code)


Handler = Callable[[Request], Coroutine[Any, Any, Response]]


class PageRoute(APIRoute):
    """Engine errors as pages: a 404 page for another tenant's payment, a 400 page naming
    the bad field, the sign-in page for a visitor who has not signed in."""

    def get_route_handler(self) -> Handler:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except MockPayError as exc:
                return error_page(request, exc)
            except RequestValidationError as exc:  # a query over its length, say
                fields = [(_field(e["loc"]), str(e["msg"])) for e in exc.errors()]
                return error_page(request, ValidationError(fields))

        return handle
