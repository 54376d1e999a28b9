"""The dispatcher's default poster: webhook POSTs over keep-alive sockets, parsed by httptools.

A webhook is one request shape: POST a small body, keep the status, ``Retry-After`` and the
first ``EXCERPT_BYTES`` of the answer. httpx spent about 450 µs of CPU on each (its pure
Python HTTP/1.1 stack); this sends the request in one write and parses the answer with
httptools, the C parser uvicorn runs on, in about 70 µs. ``https://`` URLs go through
``HttpxPoster(GuardedTransport)``, so TLS is httpx's (certificates, SNI, verification).

Like ``GuardedTransport``, it resolves the host, refuses it if any address breaks the
``AddressPolicy`` and connects to the address it checked. The whole answer must arrive
within ``timeout_s`` of sending. Idle connections are kept per origin, at most
``IDLE_PER_ORIGIN_MAX`` each; one that the receiver closed is noticed before reuse, and a
request that meets a stale connection anyway (reset, or closed before any answer) is sent
once more on a new one: at least once, as every delivery is. Failures raise httpx's
exceptions, so the dispatcher classes them as it does for any transport.
"""

from __future__ import annotations

import functools
import ipaddress
import select
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Final
from urllib.parse import urlsplit

import httptools
import httpx

from mockpay_core.delivery.transport import (
    EXCERPT_BYTES,
    USER_AGENT,
    AddressRefusedError,
    GuardedTransport,
    HttpxPoster,
    Reply,
    Resolver,
    system_resolver,
)
from mockpay_core.domain.addresses import AddressPolicy, AddressRefused, check_ip

IDLE_PER_ORIGIN_MAX: Final = 8
ORIGINS_MAX: Final = 1000
ANSWER_BYTES_MAX: Final = 1_048_576  # an answer longer than this is cut, its socket closed
RECV_BYTES: Final = 65_536

Origin = tuple[str, int]


@dataclass(frozen=True, slots=True)
class _Target:
    origin: Origin
    host_header: str
    path: str


@functools.lru_cache(maxsize=4096)
def _target(url: str) -> _Target:
    parts = urlsplit(url)
    host, port = parts.hostname, parts.port or 80
    if parts.scheme != "http" or not host:
        raise httpx.UnsupportedProtocol(f"not an http:// URL: {url!r}")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    if any(c in path for c in " \r\n") or any(c in host for c in " \r\n/"):
        raise httpx.LocalProtocolError(f"unsafe characters in {url!r}")
    host_header = f"[{host}]" if ":" in host else host
    if parts.port:
        host_header += f":{port}"
    return _Target((host, port), host_header, path)


@dataclass(slots=True)
class _Answer:
    """httptools' callbacks: the headers kept, the body's first bytes, completion."""

    parser: httptools.HttpResponseParser | None = None
    retry_after: str | None = None
    excerpt: bytearray = field(default_factory=bytearray)
    body_bytes: int = 0
    complete: bool = False
    keep_alive: bool = False  # the parser forgets it once the message is complete

    def on_header(self, name: bytes, value: bytes) -> None:
        if name.lower() == b"retry-after":
            self.retry_after = value.decode("latin-1")

    def on_headers_complete(self) -> None:
        assert self.parser is not None
        self.keep_alive = self.parser.should_keep_alive()

    def on_body(self, body: bytes) -> None:
        self.body_bytes += len(body)
        room = EXCERPT_BYTES - len(self.excerpt)
        if room > 0:
            self.excerpt += body[:room]

    def on_message_complete(self) -> None:
        self.complete = True


class _Stale(Exception):
    """A kept-alive connection turned out closed before the receiver answered anything."""


class SocketPoster:
    """A ``WebhookPoster`` for ``http://`` over keep-alive sockets; ``https://`` via httpx."""

    def __init__(self, policy: AddressPolicy, resolve: Resolver = system_resolver) -> None:
        self._policy, self._resolve = policy, resolve
        self._idle: dict[Origin, list[socket.socket]] = {}
        self._lock = threading.Lock()
        self._tls: HttpxPoster | None = None

    def post(self, url: str, body: bytes, headers: dict[str, str], timeout_s: float) -> Reply:
        if url.startswith("https://"):
            return self._https().post(url, body, headers, timeout_s)
        target = _target(url)
        head = [f"POST {target.path} HTTP/1.1", f"Host: {target.host_header}"]
        head += [f"{k}: {v}" for k, v in headers.items()]
        head += [f"User-Agent: {USER_AGENT}", f"Content-Length: {len(body)}", "", ""]
        request = "\r\n".join(head).encode("latin-1") + body
        deadline = time.monotonic() + timeout_s
        sock = self._take(target.origin)
        if sock is not None:
            try:
                return self._exchange(sock, target.origin, request, deadline, reused=True)
            except _Stale:
                pass  # sent again below, on a new connection
        sock = self._connect(target.origin, deadline)
        try:
            return self._exchange(sock, target.origin, request, deadline, reused=False)
        except _Stale:
            raise httpx.RemoteProtocolError("the receiver closed without answering") from None

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, {}
        for sockets in idle.values():
            for sock in sockets:
                sock.close()
        if self._tls is not None:
            self._tls.close()

    def _https(self) -> HttpxPoster:
        if self._tls is None:
            self._tls = HttpxPoster(GuardedTransport(self._policy, self._resolve))
        return self._tls

    def _take(self, origin: Origin) -> socket.socket | None:
        while True:
            with self._lock:
                sockets = self._idle.get(origin)
                if not sockets:
                    return None
                sock = sockets.pop()
            if not _readable(sock):  # an idle connection says nothing unless it was closed
                return sock
            sock.close()

    def _keep(self, origin: Origin, sock: socket.socket) -> None:
        with self._lock:
            if origin not in self._idle and len(self._idle) >= ORIGINS_MAX:
                sock.close()
                return
            sockets = self._idle.setdefault(origin, [])
            if len(sockets) < IDLE_PER_ORIGIN_MAX:
                sockets.append(sock)
                return
        sock.close()

    def _connect(self, origin: Origin, deadline: float) -> socket.socket:
        host, port = origin
        try:
            addresses = self._resolve(host, port)
        except OSError as exc:
            raise httpx.ConnectError(f"cannot resolve {host}: {exc}") from exc
        if not addresses:
            raise httpx.ConnectError(f"{host} resolved to no address")
        try:
            for address in addresses:
                check_ip(ipaddress.ip_address(address.split("%", 1)[0]), self._policy)
        except AddressRefused as exc:
            refused = AddressRefusedError(f"{host}: {exc}")
            raise httpx.ConnectError(str(refused)) from refused
        try:
            sock = socket.create_connection((addresses[0], port), _left(deadline))
        except TimeoutError as exc:
            raise httpx.ConnectTimeout(f"connecting to {host}:{port} timed out") from exc
        except OSError as exc:
            raise httpx.ConnectError(f"cannot connect to {host}:{port}: {exc}") from exc
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock

    def _exchange(
        self, sock: socket.socket, origin: Origin, request: bytes, deadline: float, reused: bool
    ) -> Reply:
        keep = False
        try:
            answer, keep = self._send_and_read(sock, request, deadline, reused)
        finally:
            if keep:
                self._keep(origin, sock)
            else:
                sock.close()
        return answer

    def _send_and_read(
        self, sock: socket.socket, request: bytes, deadline: float, reused: bool
    ) -> tuple[Reply, bool]:
        try:
            sock.settimeout(_left(deadline))
            sock.sendall(request)
        except TimeoutError as exc:
            raise httpx.WriteTimeout("sending the webhook timed out") from exc
        except OSError as exc:
            if reused:
                raise _Stale from exc
            raise httpx.WriteError(f"sending the webhook failed: {exc}") from exc
        answer = _Answer()
        parser = answer.parser = httptools.HttpResponseParser(answer)
        received = 0
        while not answer.complete:
            try:
                sock.settimeout(_left(deadline))
                data = sock.recv(RECV_BYTES)
            except TimeoutError as exc:
                raise httpx.ReadTimeout("the receiver did not answer in time") from exc
            except OSError as exc:
                if reused and received == 0:
                    raise _Stale from exc
                raise httpx.ReadError(f"reading the answer failed: {exc}") from exc
            if not data:
                if reused and received == 0:
                    raise _Stale
                return self._at_close(parser, answer, received)
            received += len(data)
            try:
                parser.feed_data(data)
            except httptools.HttpParserError as exc:
                raise httpx.RemoteProtocolError(f"a malformed answer: {exc}") from exc
            if answer.body_bytes > ANSWER_BYTES_MAX:
                return _reply(parser, answer), False
        return _reply(parser, answer), answer.keep_alive

    @staticmethod
    def _at_close(
        parser: httptools.HttpResponseParser, answer: _Answer, received: int
    ) -> tuple[Reply, bool]:
        """The receiver closed: the answer ends here if its head had arrived."""
        if received == 0:
            raise httpx.RemoteProtocolError("the receiver closed without answering")
        try:
            status = parser.get_status_code()
        except httptools.HttpParserError:
            status = 0
        if not status:
            raise httpx.RemoteProtocolError("the receiver closed mid-answer")
        return _reply(parser, answer), False


def _readable(sock: socket.socket) -> bool:
    if hasattr(select, "poll"):  # select.select fails on descriptors past 1023
        poller = select.poll()
        poller.register(sock, select.POLLIN)
        return bool(poller.poll(0))
    readable, _, _ = select.select([sock], [], [], 0)
    return bool(readable)


def _left(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise httpx.ReadTimeout("the receiver did not answer in time")
    return left


def _reply(parser: httptools.HttpResponseParser, answer: _Answer) -> Reply:
    excerpt = bytes(answer.excerpt).decode("utf-8", "replace")
    return Reply(parser.get_status_code(), answer.retry_after, excerpt)
