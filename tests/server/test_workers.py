"""The port check of ``mockpay serve --workers N`` (server/workers.py)."""

from __future__ import annotations

import os
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


def test_no_room_for_the_shared_rate_limit_table_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def full(*args: object, **kwargs: object) -> str:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(workers.SharedWindows, "create", full)
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port = probe.getsockname()[1]
    assert workers.serve(HOST, port, 2, {}) == 1
    err = capsys.readouterr().err
    assert "cannot make the shared rate-limit table" in err and "No space left" in err


def test_the_shared_table_has_no_name_but_opens_through_proc() -> None:
    fd, path = workers._unnamed_windows()
    try:
        assert path == f"/proc/{os.getpid()}/fd/{fd}"
        assert os.fstat(fd).st_nlink == 0  # nothing to leave behind
        table = workers.SharedWindows(path)
        assert table.count("t", 1_800, 1_000.0) == 1
        table.close()
    finally:
        os.close(fd)
