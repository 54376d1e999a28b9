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
once more on a new one: at least once, as every delivery is. Failures are httpx's
exceptions, so the dispatcher classes them as it does for any transport.

``post_all`` sends a dispatcher's whole batch at once, at most ``IN_FLIGHT_PER_ORIGIN_MAX``
requests in flight per origin, and reads the answers as they come (one ``select``): a batch
to a receiver that takes 100 ms takes about 100 ms per eight, not per one, and under load
the dispatcher's thread waits for the GIL once per wave rather than once per request.
"""

from __future__ import annotations

import functools
import select
import selectors
import socket
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final
from urllib.parse import urlsplit

import httpcore
import httptools
import httpx

from mockpay_core.delivery.transport import (
    EXCERPT_BYTES,
    LATENCY_EXTENSION,
    USER_AGENT,
    GuardedTransport,
    HttpxPoster,
    Post,
    Reply,
    Resolver,
    checked_address,
    system_resolver,
)
from mockpay_core.domain.addresses import AddressPolicy

IDLE_PER_ORIGIN_MAX: Final = 8
IN_FLIGHT_PER_ORIGIN_MAX: Final = 8
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


@dataclass(slots=True)
class _Flight:
    """One request on its connection, until its answer is complete."""

    index: int
    origin: Origin
    sock: socket.socket
    reused: bool
    started: float
    deadline: float
    answer: _Answer = field(default_factory=_Answer)
    received: int = 0

    def __post_init__(self) -> None:
        self.answer.parser = httptools.HttpResponseParser(self.answer)


Outcome = Reply | httpx.HTTPError


class SocketPoster:
    """A ``WebhookPoster`` for ``http://`` over keep-alive sockets; ``https://`` via httpx."""

    def __init__(self, policy: AddressPolicy, resolve: Resolver = system_resolver) -> None:
        self._policy, self._resolve = policy, resolve
        self._idle: dict[Origin, list[socket.socket]] = {}
        self._lock = threading.Lock()
        self._tls: HttpxPoster | None = None

    def post(self, url: str, body: bytes, headers: dict[str, str], timeout_s: float) -> Reply:
        (outcome,) = self.post_all([Post(url, body, headers)], timeout_s)
        if isinstance(outcome, httpx.HTTPError):
            raise outcome
        return outcome

    def post_all(self, posts: Sequence[Post], timeout_s: float) -> list[Outcome]:
        """Each post's reply or error, in order; each timed on its own (``latency_s``, or the
        error's ``LATENCY_EXTENSION`` attribute)."""
        return _Round(self, posts, timeout_s).run()

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
            address = checked_address(host, port, self._policy, self._resolve)
        except httpcore.ConnectError as exc:  # AddressRefusedError stays the cause
            raise httpx.ConnectError(str(exc)) from exc
        left = deadline - time.monotonic()
        if left <= 0:
            raise httpx.ConnectTimeout(f"no time left to connect to {host}:{port}")
        try:
            sock = socket.create_connection((address, port), left)
        except TimeoutError as exc:
            raise httpx.ConnectTimeout(f"connecting to {host}:{port} timed out") from exc
        except OSError as exc:
            raise httpx.ConnectError(f"cannot connect to {host}:{port}: {exc}") from exc
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock


class _Round:
    """One ``post_all``: requests queued per origin, sent as connections free up, answers
    read from whichever socket has something to say."""

    def __init__(self, poster: SocketPoster, posts: Sequence[Post], timeout_s: float) -> None:
        self._poster, self._posts, self._timeout_s = poster, posts, timeout_s
        self._outcomes: list[Outcome | None] = [None] * len(posts)
        self._requests: dict[int, bytes] = {}
        self._waiting: dict[Origin, deque[int]] = {}
        self._in_flight: dict[Origin, int] = {}
        self._retried: set[int] = set()
        self._flights: dict[socket.socket, _Flight] = {}
        self._selector = selectors.DefaultSelector()

    def run(self) -> list[Outcome]:
        try:
            for i, post in enumerate(self._posts):
                self._prepare(i, post)
            for origin in list(self._waiting):
                self._launch(origin)
            while self._flights:
                self._wait_once()
        finally:
            for flight in self._flights.values():
                flight.sock.close()
            self._selector.close()
        assert all(o is not None for o in self._outcomes)
        return self._outcomes  # type: ignore[return-value]

    def _prepare(self, i: int, post: Post) -> None:
        if post.url.startswith("https://"):
            started = time.perf_counter()
            try:
                self._outcomes[i] = self._poster._https().post(
                    post.url, post.body, post.headers, self._timeout_s
                )
            except httpx.HTTPError as exc:
                self._fail(i, exc, started)
            return
        try:
            target = _target(post.url)
        except httpx.HTTPError as exc:
            self._fail(i, exc, time.perf_counter())
            return
        head = [f"POST {target.path} HTTP/1.1", f"Host: {target.host_header}"]
        head += [f"{k}: {v}" for k, v in post.headers.items()]
        head += [f"User-Agent: {USER_AGENT}", f"Content-Length: {len(post.body)}", "", ""]
        self._requests[i] = "\r\n".join(head).encode("latin-1") + post.body
        self._waiting.setdefault(target.origin, deque()).append(i)

    def _launch(self, origin: Origin) -> None:
        """Send the origin's next requests while it has room in flight."""
        waiting = self._waiting[origin]
        while waiting and self._in_flight.get(origin, 0) < IN_FLIGHT_PER_ORIGIN_MAX:
            i = waiting.popleft()
            started = time.perf_counter()
            deadline = time.monotonic() + self._timeout_s
            # a retry goes on a new connection: the one it met was stale
            sock = None if i in self._retried else self._poster._take(origin)
            reused = sock is not None
            try:
                if sock is None:
                    sock = self._poster._connect(origin, deadline)
                sock.settimeout(self._timeout_s)
                sock.sendall(self._requests[i])
            except httpx.HTTPError as exc:
                self._fail(i, exc, started)
                continue
            except OSError as exc:
                assert sock is not None
                sock.close()
                if reused and self._retry(i, origin):
                    continue  # first in line again
                error = httpx.WriteTimeout if isinstance(exc, TimeoutError) else httpx.WriteError
                self._fail(i, error(f"sending the webhook failed: {exc}"), started)
                continue
            sock.setblocking(False)
            self._flights[sock] = _Flight(i, origin, sock, reused, started, deadline)
            self._in_flight[origin] = self._in_flight.get(origin, 0) + 1
            self._selector.register(sock, selectors.EVENT_READ)

    def _wait_once(self) -> None:
        now = time.monotonic()
        soonest = min(f.deadline for f in self._flights.values())
        for key, _ in self._selector.select(max(0.0, soonest - now)):
            self._read(self._flights[key.fileobj])  # type: ignore[index]
        now = time.monotonic()
        for flight in [f for f in self._flights.values() if f.deadline <= now]:
            self._land(flight, keep=False)
            timeout = httpx.ReadTimeout("the receiver did not answer in time")
            self._fail(flight.index, timeout, flight.started)

    def _read(self, flight: _Flight) -> None:
        answer = flight.answer
        try:
            data = flight.sock.recv(RECV_BYTES)
        except BlockingIOError:
            return
        except OSError as exc:
            self._closed(flight, httpx.ReadError(f"reading the answer failed: {exc}"))
            return
        if not data:
            self._closed(flight, None)
            return
        flight.received += len(data)
        try:
            assert answer.parser is not None
            answer.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._land(flight, keep=False)
            error = httpx.RemoteProtocolError(f"a malformed answer: {exc}")
            self._fail(flight.index, error, flight.started)
            return
        if answer.complete or answer.body_bytes > ANSWER_BYTES_MAX:
            self._land(flight, keep=answer.complete and answer.keep_alive)
            self._answered(flight)

    def _closed(self, flight: _Flight, error: httpx.HTTPError | None) -> None:
        """The receiver closed (or reset) the connection before the answer was complete."""
        if flight.received == 0 and flight.reused and self._retry(flight.index, flight.origin):
            self._land(flight, keep=False)  # which sends the retry, first in line
            return
        self._land(flight, keep=False)
        status = 0
        if flight.received and flight.answer.parser is not None:
            try:
                status = flight.answer.parser.get_status_code()
            except httptools.HttpParserError:
                status = 0
        if status and error is None:  # an answer without a length ends where the socket does
            self._answered(flight)
            return
        words = "without answering" if flight.received == 0 else "mid-answer"
        error = error or httpx.RemoteProtocolError(f"the receiver closed {words}")
        self._fail(flight.index, error, flight.started)

    def _land(self, flight: _Flight, keep: bool) -> None:
        """The flight is over: free its connection (kept for reuse, or closed) and its place."""
        self._selector.unregister(flight.sock)
        del self._flights[flight.sock]
        self._in_flight[flight.origin] -= 1
        if keep:
            self._poster._keep(flight.origin, flight.sock)
        else:
            flight.sock.close()
        self._launch(flight.origin)

    def _answered(self, flight: _Flight) -> None:
        answer = flight.answer
        assert answer.parser is not None
        excerpt = bytes(answer.excerpt).decode("utf-8", "replace")
        latency_s = time.perf_counter() - flight.started
        status = answer.parser.get_status_code()
        self._outcomes[flight.index] = Reply(status, answer.retry_after, excerpt, latency_s)

    def _retry(self, i: int, origin: Origin) -> bool:
        """Queue ``i`` once more, first in line, for a new connection (a stale one failed)."""
        if i in self._retried:
            return False
        self._retried.add(i)
        self._waiting[origin].appendleft(i)
        return True

    def _fail(self, i: int, error: httpx.HTTPError, started: float) -> None:
        setattr(error, LATENCY_EXTENSION, time.perf_counter() - started)
        self._outcomes[i] = error


def _readable(sock: socket.socket) -> bool:
    if hasattr(select, "poll"):  # select.select fails on descriptors past 1023
        poller = select.poll()
        poller.register(sock, select.POLLIN)
        return bool(poller.poll(0))
    readable, _, _ = select.select([sock], [], [], 0)
    return bool(readable)
