"""The port check of ``mockpay serve --workers N`` (server/workers.py)."""

from __future__ import annotations

import socket

import pytest

from server import workers

HOST = "127.0.0.1"

pytestmark = pytest.mark.skipif(not workers.supported(), reason="SO_REUSEPORT workers: Linux")


def test_a_listener_makes_the_port_busy_even_one_that_shares_it() -> None:
    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        listener.bind((HOST, 0))
        listener.listen()
        with pytest.raises(OSError, match="in use"):
            workers.check_port_free(HOST, listener.getsockname()[1])


def test_connections_left_in_time_wait_do_not_make_the_port_busy() -> None:
    with socket.socket() as server:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind((HOST, 0))
        server.listen()
        port = server.getsockname()[1]
        client = socket.create_connection((HOST, port))
        accepted, _ = server.accept()
        accepted.close()  # the server side closes first: its end waits in TIME_WAIT
        client.close()
    workers.check_port_free(HOST, port)
