"""Outbound HTTP for webhooks: an httpx transport that checks addresses at connect time.

``GuardedTransport`` is httpx's own transport with one change: before connecting, it
resolves the host, refuses the connection if any resolved address breaks the
``AddressPolicy``, and connects to the address it checked (so DNS cannot answer one thing to
the check and another to the connection). TLS still verifies the original host name.

The dispatcher posts through a ``WebhookPoster``: ``HttpxPoster`` wraps any httpx
transport (this one, or a test's), without an ``httpx.Client`` around it: a webhook needs
no cookies, auth, redirects or default headers. Simulated receivers are posters of their
own, so a simulation builds no HTTP objects it would only take apart again. Network
failures are ``httpx.HTTPError`` either way.
"""

from __future__ import annotations

import functools
import ipaddress
import socket
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol, runtime_checkable

import httpcore
import httpx

from mockpay_core.domain.addresses import AddressPolicy, AddressRefused, check_ip

Resolver = Callable[[str, int], list[str]]
CONNECTIONS_MAX = 100
USER_AGENT = "MockPay-Lab-Webhooks/1"
EXCERPT_BYTES: Final = 1024
LATENCY_EXTENSION: Final = "mockpay_latency_s"  # simulated receivers report latency here


@dataclass(frozen=True, slots=True)
class Reply:
    """What the dispatcher keeps of a receiver's answer."""

    status_code: int
    retry_after: str | None = None  # the Retry-After header, unparsed
    excerpt: str = ""  # the first EXCERPT_BYTES of the body
    latency_s: float | None = None  # set by posters that time each request, else timed


@dataclass(frozen=True, slots=True)
class Post:
    """One webhook request: the exact body signed, and its headers."""

    url: str
    body: bytes
    headers: dict[str, str]


@runtime_checkable
class WebhookPoster(Protocol):
    def post(self, url: str, body: bytes, headers: dict[str, str], timeout_s: float) -> Reply:
        """One POST; a failure to get an answer raises ``httpx.HTTPError``."""
        ...

    def close(self) -> None: ...


@runtime_checkable
class BatchPoster(WebhookPoster, Protocol):
    def post_all(self, posts: Sequence[Post], timeout_s: float) -> list[Reply | httpx.HTTPError]:
        """Every post, sent together; each one's reply or error, in order. Each is timed
        on its own: ``Reply.latency_s``, or the error's ``LATENCY_EXTENSION`` attribute."""
        ...


def system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class AddressRefusedError(httpcore.ConnectError):
    """The SSRF guard refused every address of the host."""


def checked_address(host: str, port: int, policy: AddressPolicy, resolve: Resolver) -> str:
    """The address to connect to: ``host`` resolved, and every address it resolved to checked
    against ``policy``. Raises ``httpcore.ConnectError`` (``AddressRefusedError`` if refused)."""
    try:
        addresses = resolve(host, port)
    except OSError as exc:
        raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
    if not addresses:
        raise httpcore.ConnectError(f"{host} resolved to no address")
    try:
        for address in addresses:
            check_ip(ipaddress.ip_address(address.split("%", 1)[0]), policy)
    except AddressRefused as exc:
        raise AddressRefusedError(f"{host}: {exc}") from exc
    return addresses[0]


class GuardedBackend(httpcore.NetworkBackend):
    def __init__(self, policy: AddressPolicy, resolve: Resolver = system_resolver) -> None:
        self._policy = policy
        self._resolve = resolve
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        address = checked_address(host, port, self._policy, self._resolve)
        return self._inner.connect_tcp(address, port, timeout, local_address, socket_options)

    def connect_unix_socket(self, *args: Any, **kwargs: Any) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("webhooks are not sent over unix sockets")

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class GuardedTransport(httpx.HTTPTransport):
    def __init__(self, policy: AddressPolicy, resolve: Resolver = system_resolver) -> None:
        limits = httpx.Limits(max_connections=CONNECTIONS_MAX, max_keepalive_connections=20)
        super().__init__(trust_env=False, limits=limits)
        self._pool = httpcore.ConnectionPool(
            ssl_context=self._pool._ssl_context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=GuardedBackend(policy, resolve),
        )


class HttpxPoster:
    """Posts through an httpx transport and reads at most ``EXCERPT_BYTES`` of the answer."""

    def __init__(self, transport: httpx.BaseTransport) -> None:
        self.transport = transport

    def post(self, url: str, body: bytes, headers: dict[str, str], timeout_s: float) -> Reply:
        request = httpx.Request(
            "POST", _parsed(url), content=body, headers={**headers, "User-Agent": USER_AGENT},
            extensions={"timeout": dict.fromkeys(("connect", "read", "write", "pool"), timeout_s)},
        )  # fmt: skip
        response = self.transport.handle_request(request)
        try:
            excerpt = _excerpt(response)
        finally:
            response.close()
        latency = response.extensions.get(LATENCY_EXTENSION)
        return Reply(
            response.status_code, response.headers.get("retry-after"), excerpt,
            None if latency is None else float(latency),
        )  # fmt: skip

    def close(self) -> None:
        self.transport.close()


def _excerpt(response: httpx.Response) -> str:
    taken = b""
    for chunk in response.iter_bytes(EXCERPT_BYTES):
        taken += chunk
        if len(taken) >= EXCERPT_BYTES:
            break
    return taken[:EXCERPT_BYTES].decode("utf-8", "replace")


@functools.lru_cache(maxsize=4096)
def _parsed(url: str) -> httpx.URL:
    """A tenant posts to a handful of URLs: parse each once (httpx.URL is immutable)."""
    return httpx.URL(url)


def refused_by_guard(exc: BaseException) -> bool:
    """Whether an httpx error came from the SSRF guard."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, AddressRefusedError):
            return True
        cause = cause.__cause__ or cause.__context__
    return False
