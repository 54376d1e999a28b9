"""The access log: one JSON line per request, straight to the handler configure() installed,
and through ``logging`` whenever someone else listens."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from server import logs

FIELDS = {"request_id": "r-1", "method": "POST", "path": "/api/payments", "status": 201,
          "duration_ms": 3.5, "tenant_id": "t-1", "payment_id": None}  # fmt: skip


@pytest.fixture
def out() -> Iterator[io.StringIO]:
    """What configure()'s handler writes."""
    root = logging.getLogger("mockpay")
    saved = (root.handlers[:], root.level, root.propagate, logs._lines)
    logs.configure()
    assert logs._lines is not None
    stream = logs._lines.stream = io.StringIO()
    yield stream
    logs._lines.close()
    root.handlers[:], root.level, root.propagate, logs._lines = saved


def as_in_a_server(monkeypatch: pytest.MonkeyPatch) -> None:
    """pytest adds its capturing handlers to the non-propagating "mockpay" logger as each
    test's call begins, after the fixtures: set them aside, as a server has none."""
    monkeypatch.setattr(logging.getLogger("mockpay"), "handlers", [logs._lines])


def lines(out: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(text) for text in out.getvalue().splitlines()]


def test_the_direct_line_takes_no_log_record(
    out: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    as_in_a_server(monkeypatch)

    def no_record(*args: object, **kwargs: object) -> None:
        raise AssertionError("the access line went through logging")

    with monkeypatch.context() as m:
        m.setattr(logs.access, "info", no_record)
        logs.request_done(FIELDS)
    logs.access.info("request", extra={"fields": FIELDS})  # through logging and JsonLines
    direct, logged = lines(out)
    assert direct.pop("ts") and logged.pop("ts")
    assert direct == logged == {
        "level": "info", "logger": "mockpay.access", "message": "request", **FIELDS
    }  # fmt: skip


def test_a_handler_of_its_own_still_hears_every_request(
    out: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    as_in_a_server(monkeypatch)
    heard: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = heard.append  # type: ignore[method-assign]
    logs.access.addHandler(handler)
    try:
        logs.request_done(FIELDS)
    finally:
        logs.access.removeHandler(handler)
    assert [r.fields for r in heard] == [FIELDS]  # type: ignore[attr-defined]
    assert [line["request_id"] for line in lines(out)] == ["r-1"]


def test_a_raised_level_silences_the_line(
    out: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    as_in_a_server(monkeypatch)
    monkeypatch.setattr(logs.access, "level", logging.WARNING)
    monkeypatch.setattr(logs.access, "_cache", {})
    logs.request_done(FIELDS)
    assert out.getvalue() == ""
