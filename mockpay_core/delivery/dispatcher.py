"""The dispatcher: claims due events from the outbox and delivers them.

One pass (``run_once``) claims a batch under a lease, sends each event (signed, the body
the exact bytes signed), then records every attempt and its verdict in one transaction.

Promises:

- **At least once.** A dispatcher that dies between sending and recording leaves its lease
  to expire; the event is then sent again, with the same ``webhook-id``. Receivers dedupe on
  ``webhook-id``.
- **Never the same attempt twice.** Claims are exclusive and number the attempt.
- **Per-payment order.** An event is not sent while an earlier event of the same payment is
  still pending or in flight: it waits until that one is delivered or dead.

A WebhookEndpoint's copy of an event (the Stripe face's) goes to the endpoint's URL with
``Stripe-Signature`` instead of the three headers above; retries, leases and the dead-letter
queue are the same.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta

import httpx

from mockpay_core.clock import Clock
from mockpay_core.config import DeliveryConfig
from mockpay_core.delivery.http11 import SocketPoster
from mockpay_core.delivery.transport import (
    LATENCY_EXTENSION,
    BatchPoster,
    HttpxPoster,
    Post,
    Reply,
    WebhookPoster,
    refused_by_guard,
)
from mockpay_core.domain.delivery import Attempt, Claim, signing_secrets
from mockpay_core.domain.retry import (
    AttemptResult,
    DeliveryStatus,
    Verdict,
    judge,
    parse_retry_after,
)
from mockpay_core.domain.signing import delivery_headers, stripe_headers
from mockpay_core.ids import IdSource
from mockpay_core.storage.protocol import Store


def _last_error(attempt: Attempt) -> str | None:
    if attempt.succeeded:
        return None
    return attempt.error or f"http_{attempt.status_code}"


def _error_class(exc: httpx.HTTPError) -> str:
    if refused_by_guard(exc):
        return "address_refused"
    if isinstance(exc, httpx.TimeoutException):
        return "timeout"
    if isinstance(exc, httpx.ConnectError):
        return "connect_error"
    if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError | httpx.WriteError):
        return "connection_reset"
    return type(exc).__name__


class Dispatcher:
    """Delivers the outbox of one store; run several on one database, each with an ``owner``."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        ids: IdSource,
        *,
        config: DeliveryConfig | None = None,
        transport: httpx.BaseTransport | WebhookPoster | None = None,
        rng: random.Random | None = None,
        owner: str | None = None,
        timer: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.config = config or DeliveryConfig()
        self._store, self._clock, self._ids, self._timer = store, clock, ids, timer
        transport = transport or SocketPoster(self.config.address_policy)
        self._poster = transport if isinstance(transport, WebhookPoster) else HttpxPoster(transport)
        self._rng = rng or random.Random()
        self.owner = owner or f"dispatcher-{ids.uuid()}"
        self._stop = threading.Event()

    def close(self) -> None:
        self._poster.close()

    def run_once(self, *, record: bool = True) -> int:
        """One batch: claim, send, record. Returns how many attempts were made.
        ``record=False`` plays a dispatcher that dies after sending, before recording."""
        now = self._clock.now()
        lease = self.config.batch_size * self.config.timeout_s + self.config.lease_margin_s
        with self._store.unit_of_work() as uow:
            claims = uow.claim_deliveries(
                now, self.config.batch_size, now + timedelta(seconds=lease), self.owner
            )
        outcomes = self._attempt_all(claims)
        if not record:
            return len(claims)
        with self._store.unit_of_work() as uow:
            for claim, (attempt, verdict) in zip(claims, outcomes, strict=True):
                uow.record_attempt(attempt)
                # Whether the lease was still ours matters only to what follows: one wait
                # for the whole batch, not one per delivery (PostgreSQL).
                finished = uow.finish_delivery(
                    claim.event_id, self.owner, verdict.status, attempt.sent_at,
                    next_attempt_at=verdict.next_attempt_at,
                    last_error=_last_error(attempt),
                    dead_reason=verdict.dead_reason,
                    answered=verdict.disable_endpoint,
                )  # fmt: skip
                if finished and verdict.disable_endpoint:
                    uow.disable_endpoint(claim.tenant_id, claim.url, "410 Gone", attempt.sent_at)
        return len(claims)

    def run_until_idle(self, passes_max: int = 1_000_000) -> int:
        """Passes until nothing is due at the clock's current time; attempts made."""
        return self._passes(1, passes_max)

    def run_backlog(self, passes_max: int = 1_000_000) -> int:
        """Passes while each claims a full batch; attempts made. What comes due meanwhile
        waits for the next call.

        For a caller that calls again soon (the server's delivery thread, ``serve``): under
        steady load, one pass then sends what gathered since the last call, rather than
        passes of a few events back to back, each with its two transactions. bench/serve.py,
        the server's delivery thread: about 160 -> 140 µs of CPU per event."""
        return self._passes(self.config.batch_size, passes_max)

    def _passes(self, made_min: int, passes_max: int) -> int:
        """Passes while each makes at least ``made_min`` attempts; attempts made."""
        total = 0
        for _ in range(passes_max):
            made = self.run_once()
            total += made
            if made < made_min:
                break
        return total

    def serve(self, idle_sleep_s: float = 0.2) -> None:
        """Deliver until ``stop()``: the loop of ``mockpay worker``. A batch that is not
        full means no backlog: the next pass waits ``idle_sleep_s``."""
        while not self._stop.is_set():
            if self.run_once() < self.config.batch_size:
                self._stop.wait(idle_sleep_s)

    def stop(self) -> None:
        self._stop.set()

    def _attempt_all(self, claims: list[Claim]) -> list[tuple[Attempt, Verdict]]:
        """Send the batch: together when the poster can (``BatchPoster``), else in turn."""
        if not isinstance(self._poster, BatchPoster) or len(claims) < 2:
            return [self._attempt(claim) for claim in claims]
        sent_at = self._clock.now()
        sendable = [c for c in claims if not c.endpoint_disabled]
        posts = [self._post(c, sent_at) for c in sendable]
        replies = dict(zip(
            (c.event_id for c in sendable),
            self._poster.post_all(posts, self.config.timeout_s),
            strict=True,
        ))  # fmt: skip
        return [self._attempt(c, sent_at, replies.get(c.event_id)) for c in claims]

    def _attempt(
        self, claim: Claim, sent_at: datetime | None = None, sent: Reply | Exception | None = None
    ) -> tuple[Attempt, Verdict]:
        sent_at = sent_at or self._clock.now()
        excerpt: str | None = None
        if claim.endpoint_disabled:
            result = AttemptResult(None, "endpoint_disabled")
            duration_s = 0.0
        else:
            started = None
            if sent is None:  # not sent with the batch: send it now
                started = self._timer()
                sent = self._send_one(self._post(claim, sent_at))
            result, excerpt, duration_s = self._judge_send(sent, sent_at, started)
        if result.error in ("endpoint_disabled", "address_refused"):
            verdict = Verdict(DeliveryStatus.DEAD, dead_reason=result.error)
        else:
            verdict = judge(
                result, claim.attempt_in_round, self.config.schedule, sent_at, self._rng
            )
        attempt = Attempt(
            self._ids.uuid(), claim.event_id, claim.tenant_id, claim.attempt, claim.url,
            claim.scheduled_at, sent_at, round(duration_s * 1000, 3), result.status_code,
            result.error, excerpt, result.succeeded,
        )  # fmt: skip
        return attempt, verdict

    def _post(self, claim: Claim, sent_at: datetime) -> Post:
        body = json.dumps(claim.payload, separators=(",", ":"), ensure_ascii=False).encode()
        if claim.endpoint_secret is not None:  # a WebhookEndpoint's copy: Stripe's scheme
            return Post(claim.url, body, stripe_headers(body, claim.endpoint_secret, sent_at))
        secrets = signing_secrets(claim, sent_at, self.config.secret_grace_s)
        return Post(claim.url, body, delivery_headers(claim.event_id, sent_at, body, secrets))

    def _send_one(self, post: Post) -> Reply | Exception:
        try:
            return self._poster.post(post.url, post.body, post.headers, self.config.timeout_s)
        except httpx.HTTPError as exc:
            return exc

    def _judge_send(
        self, sent: Reply | Exception, sent_at: datetime, started: float | None
    ) -> tuple[AttemptResult, str | None, float]:
        """What a send came to; its duration from the poster, else timed from ``started``."""
        if isinstance(sent, Exception):
            latency = getattr(sent, LATENCY_EXTENSION, None)
            if latency is not None:
                elapsed = float(latency)
            else:
                elapsed = self._timer() - started if started is not None else 0.0
            assert isinstance(sent, httpx.HTTPError)
            return AttemptResult(None, _error_class(sent)), None, elapsed
        retry_after = parse_retry_after(sent.retry_after, sent_at)
        result = AttemptResult(sent.status_code, retry_after_s=retry_after)
        if sent.latency_s is not None:
            duration = sent.latency_s
        else:
            duration = self._timer() - started if started is not None else 0.0
        return result, sent.excerpt, duration
