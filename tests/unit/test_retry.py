"""The retry schedule and the verdict after each attempt."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from mockpay_core.domain.retry import (
    ORIGINAL,
    RETRY_AFTER_S_MAX,
    STANDARD_WEBHOOKS,
    AttemptResult,
    DeliveryStatus,
    RetrySchedule,
    judge,
    parse_retry_after,
)

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def test_presets() -> None:
    assert STANDARD_WEBHOOKS.delays_s == (0, 5, 300, 1800, 7200, 18000, 36000, 36000)
    assert (ORIGINAL.delays_s, ORIGINAL.jitter) == ((0, 2, 2), 0)


@pytest.mark.parametrize("status", [200, 201, 204, 299])
def test_any_2xx_delivers(status: int) -> None:
    verdict = judge(AttemptResult(status), 1, STANDARD_WEBHOOKS, NOW, random.Random(0))
    assert verdict.status is DeliveryStatus.DELIVERED


@pytest.mark.parametrize(
    "result",
    [
        AttemptResult(500),
        AttemptResult(301),
        AttemptResult(404),
        AttemptResult(None, "timeout"),
        AttemptResult(None, "connect_error"),
        AttemptResult(199),
    ],
)
def test_everything_else_retries_within_the_jitter_bounds(result: AttemptResult) -> None:
    rng = random.Random(1)
    for attempt in range(1, STANDARD_WEBHOOKS.attempts_max):
        verdict = judge(result, attempt, STANDARD_WEBHOOKS, NOW, rng)
        assert verdict.status is DeliveryStatus.PENDING and verdict.next_attempt_at
        delay = (verdict.next_attempt_at - NOW).total_seconds()
        base = STANDARD_WEBHOOKS.delays_s[attempt]
        assert base * 0.9 <= delay <= base * 1.1


def test_the_last_attempt_is_dead_and_410_is_dead_at_once() -> None:
    rng = random.Random(0)
    last = judge(AttemptResult(500), 3, ORIGINAL, NOW, rng)
    assert (last.status, last.dead_reason) == (DeliveryStatus.DEAD, "attempts_exhausted")
    gone = judge(AttemptResult(410), 1, ORIGINAL, NOW, rng)
    assert (gone.status, gone.dead_reason, gone.disable_endpoint) == (
        DeliveryStatus.DEAD, "endpoint_gone", True
    )  # fmt: skip


def test_retry_after_is_honoured_within_bounds() -> None:
    rng = random.Random(0)
    schedule = RetrySchedule(delays_s=(0, 5, 5), jitter=0)
    wait = judge(AttemptResult(429, retry_after_s=120), 1, schedule, NOW, rng)
    assert wait.next_attempt_at == NOW + timedelta(seconds=120)
    short = judge(AttemptResult(503, retry_after_s=1), 1, schedule, NOW, rng)
    assert short.next_attempt_at == NOW + timedelta(seconds=5)  # never sooner than the schedule
    huge = judge(AttemptResult(503, retry_after_s=10**9), 1, schedule, NOW, rng)
    assert huge.next_attempt_at == NOW + timedelta(seconds=RETRY_AFTER_S_MAX)
    ignored = judge(AttemptResult(500, retry_after_s=120), 1, schedule, NOW, rng)
    assert ignored.next_attempt_at == NOW + timedelta(seconds=5)


def test_parse_retry_after() -> None:
    assert parse_retry_after("120", NOW) == 120
    assert parse_retry_after("Thu, 01 Jan 2026 00:01:00 GMT", NOW) == 60
    for bad in (None, "", "soon", "-5"):
        assert parse_retry_after(bad, NOW) is None


def test_schedules_are_bounded() -> None:
    with pytest.raises(ValueError):
        RetrySchedule(delays_s=())
    with pytest.raises(ValueError):
        RetrySchedule(delays_s=(0,) * 51)
    with pytest.raises(ValueError):
        RetrySchedule(delays_s=(-1,))
