"""Structured logs: one JSON line per request (request id, tenant, payment, status, time)."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

access = logging.getLogger("mockpay.access")


class JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            **getattr(record, "fields", {}),
        }
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


def configure(level: str = "INFO") -> None:
    """Send mockpay.* logs to stdout as JSON lines (``mockpay serve`` calls this)."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonLines())
    root = logging.getLogger("mockpay")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False


def request_done(fields: dict[str, Any]) -> None:
    access.info("request", extra={"fields": fields})
