"""Server-sent events for a page section: rendered again every ``TICK_S`` (its reads on a
worker thread, off the event loop the API answers on), sent only when it changed, so that
a retry can be watched as it happens. The page's script swaps the
section's HTML in (static/dashboard.js); EventSource reconnects after ``STREAM_S_MAX``."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Final

from fastapi import Request
from fastapi.responses import StreamingResponse

TICK_S: Final = 0.5
HEARTBEAT_S: Final = 15.0  # a comment line, so that proxies keep the connection open
# Short: a stopping server waits for open responses, and EventSource reconnects at once.
STREAM_S_MAX: Final = 60.0


def event(name: str, data: str) -> str:
    """One SSE message: each line of ``data`` on a ``data:`` line of its own."""
    lines = "".join(f"data: {line}\n" for line in data.splitlines() or [""])
    return f"event: {name}\n{lines}\n"


async def messages(
    request: Request,
    render: Callable[[], Awaitable[str]],
    clock: Callable[[], float] = time.monotonic,
) -> AsyncIterator[str]:
    last, started = None, clock()
    beat = started
    yield "retry: 1000\n\n"
    while clock() - started < STREAM_S_MAX and not await request.is_disconnected():
        html = await render()
        if html != last:
            last, beat = html, clock()
            yield event("update", html)
        elif clock() - beat >= HEARTBEAT_S:
            beat = clock()
            yield ": still here\n\n"
        await asyncio.sleep(TICK_S)


def stream(request: Request, render: Callable[[], Awaitable[str]]) -> StreamingResponse:
    return StreamingResponse(
        messages(request, render), media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )  # fmt: skip
