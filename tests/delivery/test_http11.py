"""``SocketPoster``, the dispatcher's default poster, against real sockets on 127.0.0.1."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from mockpay_core import Engine, EngineConfig
from mockpay_core.delivery.http11 import IN_FLIGHT_PER_ORIGIN_MAX, SocketPoster
from mockpay_core.delivery.transport import (
    EXCERPT_BYTES,
    LATENCY_EXTENSION,
    Post,
    refused_by_guard,
)
from mockpay_core.domain.addresses import AddressPolicy
from mockpay_core.storage.sqlite import SqliteStore
from tests.delivery.receiver import running_receiver

LOCAL = AddressPolicy(mode="local")
HEADERS = {"content-type": "application/json", "webhook-id": "evt_1"}


def answer(status: int = 200, body: bytes = b"ok", extra: str = "") -> bytes:
    head = f"HTTP/1.1 {status} X\r\nContent-Length: {len(body)}\r\n{extra}\r\n"
    return head.encode() + body


@contextmanager
def raw_server(handle: Callable[[socket.socket, int], None]) -> Iterator[str]:
    """A socket server: ``handle(connection, n)`` for the n-th connection, on a thread."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve() -> None:
        n = 0
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=handle, args=(conn, n), daemon=True).start()
            n += 1

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{port}/hooks?x=1"
    finally:
        listener.close()


def read_request(conn: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
    while len(body) < length:
        body += conn.recv(65536)
    return head


def test_posts_reuse_one_kept_alive_connection() -> None:
    requests: list[tuple[int, bytes]] = []

    def handle(conn: socket.socket, n: int) -> None:
        with conn:
            while head := read_request(conn):
                requests.append((n, head))
                conn.sendall(answer())

    with raw_server(handle) as url:
        poster = SocketPoster(LOCAL)
        replies = [poster.post(url, b'{"n":%d}' % i, HEADERS, 5.0) for i in range(3)]
        poster.close()
    assert [(r.status_code, r.excerpt) for r in replies] == [(200, "ok")] * 3
    assert [n for n, _ in requests] == [0, 0, 0]  # one connection for all three
    assert all(b"webhook-id: evt_1" in head for _, head in requests)


def test_posts_reach_a_real_http_server_with_their_bodies() -> None:
    with running_receiver() as receiver:
        poster = SocketPoster(LOCAL)
        replies = [poster.post(receiver.url, b'{"n":%d}' % i, HEADERS, 5.0) for i in range(3)]
        poster.close()
    assert [(r.status_code, r.excerpt) for r in replies] == [(200, "ok")] * 3
    assert [body for _, body in receiver.requests] == [b'{"n":0}', b'{"n":1}', b'{"n":2}']
    assert {h["webhook-id"] for h, _ in receiver.requests} == {"evt_1"}


def test_what_is_kept_of_an_answer() -> None:
    heads: list[bytes] = []

    def handle(conn: socket.socket, n: int) -> None:
        with conn:
            heads.append(read_request(conn))
            chunked = b"".join(b"%x\r\n%s\r\n" % (500, b"x" * 500) for _ in range(5)) + b"0\r\n\r\n"
            conn.sendall(
                b"HTTP/1.1 503 Busy\r\nRetry-After: 7\r\nTransfer-Encoding: chunked\r\n\r\n"
                + chunked
            )

    with raw_server(handle) as url:
        reply = SocketPoster(LOCAL).post(url, b"{}", HEADERS, 5.0)
    assert (reply.status_code, reply.retry_after) == (503, "7")
    assert reply.excerpt == "x" * EXCERPT_BYTES
    head = heads[0].decode()
    assert head.startswith("POST /hooks?x=1 HTTP/1.1\r\n")
    assert "Host: 127.0.0.1:" in head and "Content-Length: 2" in head


def test_a_connection_the_receiver_closed_is_replaced_before_or_after_reuse() -> None:
    served: list[int] = []

    def handle(conn: socket.socket, n: int) -> None:
        with conn:  # answers once, keeps the connection open a moment, then closes it
            read_request(conn)
            served.append(n)
            conn.sendall(answer())
            if n == 1:  # the second connection: close while the client sends its request
                read_request(conn)

    with raw_server(handle) as url:
        poster = SocketPoster(LOCAL)
        assert poster.post(url, b"{}", HEADERS, 5.0).status_code == 200
        threading.Event().wait(0.1)  # the first connection is closed by now: noticed idle
        assert poster.post(url, b"{}", HEADERS, 5.0).status_code == 200
        # the second closes without answering the next request: sent again on a third
        assert poster.post(url, b"{}", HEADERS, 5.0).status_code == 200
        poster.close()
    assert served == [0, 1, 2]


def test_failures_are_httpx_errors_the_dispatcher_knows() -> None:
    def handle(conn: socket.socket, n: int) -> None:
        with conn:
            read_request(conn)
            if n == 0:
                conn.sendall(b"NOT HTTP AT ALL\r\n\r\n")
            elif n == 1:
                threading.Event().wait(1.0)  # too slow

    with raw_server(handle) as url:
        poster = SocketPoster(LOCAL)
        with pytest.raises(httpx.RemoteProtocolError):
            poster.post(url, b"{}", HEADERS, 5.0)
        with pytest.raises(httpx.ReadTimeout):
            poster.post(url, b"{}", HEADERS, 0.2)
        with pytest.raises(httpx.RemoteProtocolError):  # closes without a word, twice
            poster.post(url, b"{}", HEADERS, 5.0)
    free = socket.socket()
    free.bind(("127.0.0.1", 0))
    closed = f"http://127.0.0.1:{free.getsockname()[1]}/"
    free.close()
    with pytest.raises(httpx.ConnectError):
        SocketPoster(LOCAL).post(closed, b"{}", HEADERS, 1.0)
    with pytest.raises(httpx.UnsupportedProtocol):
        SocketPoster(LOCAL).post("ftp://127.0.0.1/", b"{}", HEADERS, 1.0)


@pytest.mark.parametrize(("resolved", "refused"), [(["10.0.0.7"], True), (["127.0.0.1"], False)])
def test_the_guard_checks_the_resolved_address(resolved: list[str], refused: bool) -> None:
    poster = SocketPoster(LOCAL, resolve=lambda host, port: resolved)
    with pytest.raises(httpx.ConnectError) as info:
        poster.post("http://rebinding.example:9/", b"{}", HEADERS, 1.0)
    assert refused_by_guard(info.value) is refused


def test_https_goes_through_httpx_and_its_guard() -> None:
    poster = SocketPoster(LOCAL, resolve=lambda host, port: ["10.0.0.7"])
    with pytest.raises(httpx.ConnectError) as info:
        poster.post("https://hooks.example/", b"{}", HEADERS, 1.0)
    assert refused_by_guard(info.value)
    poster.close()


def test_post_all_sends_together_at_most_eight_per_origin_and_answers_in_order() -> None:
    live, most = [0], [0]
    lock = threading.Lock()

    def handle(conn: socket.socket, n: int) -> None:
        with conn:
            while head := read_request(conn):
                with lock:
                    live[0] += 1
                    most[0] = max(most[0], live[0])
                threading.Event().wait(0.2)  # a slow receiver
                with lock:
                    live[0] -= 1
                status = 200 if b"/ok" in head else 500
                conn.sendall(answer(status, head.split(b" ")[1]))

    free = socket.socket()
    free.bind(("127.0.0.1", 0))
    closed = f"http://127.0.0.1:{free.getsockname()[1]}/"
    free.close()
    with raw_server(handle) as url:
        base = url.rsplit("/", 1)[0]
        posts = [
            Post(f"{base}/ok{i}" if i % 5 else f"{base}/bad{i}", b"{}", HEADERS) for i in range(16)
        ]
        posts.insert(3, Post(closed, b"{}", HEADERS))
        poster = SocketPoster(LOCAL)
        started = time.perf_counter()
        outcomes = poster.post_all(posts, 5.0)
        took_s = time.perf_counter() - started
        poster.close()
    assert most[0] == IN_FLIGHT_PER_ORIGIN_MAX
    assert took_s < 16 * 0.2 / 2  # two waves of eight, not sixteen in turn
    assert isinstance(outcomes[3], httpx.ConnectError)
    replies = [o for o in outcomes if not isinstance(o, httpx.HTTPError)]
    assert [(r.status_code, r.excerpt) for r in replies] == [
        (200 if i % 5 else 500, f"/{'ok' if i % 5 else 'bad'}{i}") for i in range(16)
    ]
    assert all(r.latency_s is not None and r.latency_s >= 0.2 for r in replies)
    assert getattr(outcomes[3], LATENCY_EXTENSION) >= 0


def test_the_dispatcher_sends_a_batch_together(tmp_path: Path) -> None:
    with running_receiver(delay_s=0.2) as receiver:
        config = EngineConfig(seed_default_fraud_rules=False)
        with Engine(SqliteStore(str(tmp_path / "b.db")), config=config) as engine:
            tenant = engine.register_tenant("Acme", "dev@acme.test").tenant
            for i in range(8):
                p = engine.create_payment(
                    tenant.id, amount=5, currency="USD", webhook_url=receiver.url,
                    idempotency_key=f"k{i}",
                ).value  # fmt: skip
                engine.simulate(tenant.id, p.id, "success")
            dispatcher = engine.dispatcher()
            started = time.perf_counter()
            assert dispatcher.run_once() == 8
            assert time.perf_counter() - started < 8 * 0.2 / 2
            dispatcher.close()
            attempts = engine.delivery_attempts(tenant.id)
    assert len(receiver.requests) == 8
    assert all(a.succeeded and a.duration_ms >= 200 for a in attempts)
