"""Structured logs: one JSON line per request (request id, tenant, payment, status, time)."""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
from datetime import UTC, datetime
from typing import IO, Any, Final

access = logging.getLogger("mockpay.access")
FLUSH_S: Final = 0.2


def iso_ms(created_s: float) -> str:
    return datetime.fromtimestamp(created_s, UTC).isoformat(timespec="milliseconds")


class JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": iso_ms(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            **getattr(record, "fields", {}),
        }
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


class LinesHandler(logging.StreamHandler[IO[str]]):
    """A stream handler that flushes at most every ``FLUSH_S``, and a thread that flushes
    what is left within ``FLUSH_S``.

    A flush per line was a write system call per request, and each one gave up the GIL to
    the writer thread (bench/serve.py: 40 µs of the event loop's CPU per request). A
    terminal still shows each line at once (stdout is line-buffered there); a stop flushes
    all. A process killed with SIGKILL can lose its last ``FLUSH_S`` of lines.
    """

    def __init__(self, stream: IO[str]) -> None:
        super().__init__(stream)
        self._due_s = 0.0
        threading.Thread(target=self._flush_often, name="mockpay-log-flush", daemon=True).start()

    def flush(self) -> None:
        now_s = time.monotonic()
        if now_s >= self._due_s:
            self._due_s = now_s + FLUSH_S
            super().flush()

    def close(self) -> None:
        super().flush()
        super().close()

    def write_line(self, line: str) -> None:
        """``line`` as ``emit`` would write it, without a LogRecord."""
        try:
            with self.lock:  # type: ignore[union-attr]
                self.stream.write(line + self.terminator)
            self.flush()
        except Exception:
            self.handleError(logging.makeLogRecord({"msg": line}))

    def _flush_often(self) -> None:
        while True:
            time.sleep(FLUSH_S)
            super().flush()


_root = logging.getLogger("mockpay")
_lines: LinesHandler | None = None  # the handler configure() installed


def configure(level: str = "INFO") -> None:
    """Send mockpay.* logs to stdout as JSON lines (each ``mockpay serve`` process calls
    this)."""
    global _lines
    handler = LinesHandler(sys.stdout)
    handler.setFormatter(JsonLines())
    _root.handlers[:] = [handler]
    _root.setLevel(level)
    _root.propagate = False
    _lines = handler


def request_done(fields: dict[str, Any]) -> None:
    """The access line of one request. While logging is as configure() left it, the line
    goes straight to its handler: the same JSON for about half the CPU (logging's record,
    caller lookup and locks, per request); otherwise, and for tests' own handlers, through
    ``logging``."""
    handler = _lines
    direct = (
        handler is not None
        and _root.handlers == [handler]
        and not (access.handlers or access.filters or _root.filters or handler.filters)
        and access.isEnabledFor(logging.INFO)
    )
    if not direct:
        access.info("request", extra={"fields": fields})
        return
    assert handler is not None
    line = {"ts": iso_ms(time.time()), "level": "info", "logger": access.name, "message": "request"}
    handler.write_line(json.dumps({**line, **fields}, default=str))
