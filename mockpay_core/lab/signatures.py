"""A timing attack on a webhook receiver's signature check, on a simulated clock.

``naive_equal`` is ``==`` as a loop: it returns at the first difference, so the time a
refusal takes grows with how many leading bytes of a guess are right. ``timed_receiver``
is a receiver checking one ``v1,<base64>`` signature that way (``naive_equal``) or with
``hmac.compare_digest``; it answers each request with (accepted?, response time in µs):
a fixed cost, ``per_byte_us`` for every byte compared, and network jitter drawn from a
seeded RNG (exponential: queues only ever add delay). The attacker, ``guess_by_leak``,
sends each candidate byte ``repeats`` times, keeps the median of its response times (a
single time says little: the jitter is as large as a byte's cost), and keeps the slowest
candidate at each position. Against ``==`` that finds the whole signature in at most
``len(alphabet) * repeats`` requests per byte; against ``compare_digest`` every candidate
takes as long, and what is kept is noise.

Simulated rather than measured, so the leak is the same on a noisy 2-core runner as on a
quiet laptop: the model is the lesson, the seed replays it.
"""

from __future__ import annotations

import hmac
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Final

from mockpay_core.errors import ValidationError

Compare = Callable[[bytes, bytes], tuple[bool, int]]
Oracle = Callable[[bytes], tuple[bool, float]]

BASE64: Final = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
# Every byte a ``v1,<base64>`` signature can hold: the base64 digits, its padding, the comma.
ALPHABET: Final = BASE64 + b"=,"
REPEATS_MAX: Final = 10_000


def naive_equal(expected: bytes, given: bytes) -> tuple[bool, int]:
    """(equal?, bytes compared before the answer was known)."""
    if len(expected) != len(given):
        return False, 0
    for i, (a, b) in enumerate(zip(expected, given, strict=True)):
        if a != b:
            return False, i + 1
    return True, len(expected)


def constant_time_equal(expected: bytes, given: bytes) -> tuple[bool, int]:
    """``hmac.compare_digest``: every byte is compared, whatever the guess."""
    return hmac.compare_digest(expected, given), max(len(expected), len(given))


@dataclass(frozen=True, slots=True)
class Timing:
    """The receiver's response time: ``base_us`` + ``per_byte_us`` per byte compared +
    exponential jitter of mean ``jitter_mean_us``."""

    base_us: float = 120.0
    per_byte_us: float = 1.0
    jitter_mean_us: float = 1.0


def timed_receiver(
    expected: bytes, compare: Compare, rng: random.Random, timing: Timing = Timing()
) -> Oracle:
    """What an attacker sees of a receiver checking ``expected`` with ``compare``: whether
    the guess was accepted, and how long the answer took (µs)."""

    def answer(given: bytes) -> tuple[bool, float]:
        accepted, compared = compare(expected, given)
        jitter_us = rng.expovariate(1 / timing.jitter_mean_us) if timing.jitter_mean_us else 0
        return accepted, timing.base_us + compared * timing.per_byte_us + jitter_us

    return answer


@dataclass(frozen=True, slots=True)
class Attack:
    """What ``guess_by_leak`` ended with: its best guess, whether the receiver accepted it,
    and the requests it sent."""

    guess: bytes
    accepted: bool
    requests: int


def measure(oracle: Oracle, guess: bytes, repeats: int, quantile: float) -> tuple[bool, float]:
    """Send ``guess`` ``repeats`` times: (accepted once?, the ``quantile`` of the times)."""
    answers = [oracle(guess) for _ in range(repeats)]
    times = sorted(took_us for _, took_us in answers)
    return any(ok for ok, _ in answers), times[round(quantile * (repeats - 1))]


def position_times(
    oracle: Oracle,
    known: bytes,
    length: int,
    *,
    alphabet: bytes = ALPHABET,
    repeats: int = 1,
    quantile: float = 0.5,
) -> Iterator[tuple[int, bool, float]]:
    """Each candidate for the byte after ``known`` (a filler after it up to ``length``),
    sent ``repeats`` times in turn: (the byte, accepted?, the ``quantile`` of its times)."""
    if not 1 <= repeats <= REPEATS_MAX:
        raise ValidationError(f"must be 1..{REPEATS_MAX}", "repeats")
    if not 0 <= quantile <= 1:
        raise ValidationError("must be between 0 and 1", "quantile")
    filler = bytes([alphabet[0]]) * (length - len(known) - 1)
    for c in alphabet:
        yield (c, *measure(oracle, known + bytes([c]) + filler, repeats, quantile))


def guess_by_leak(
    length: int,
    oracle: Oracle,
    *,
    alphabet: bytes = ALPHABET,
    repeats: int = 1,
    quantile: float = 0.5,
    known: bytes = b"",
) -> Attack:
    """Guess a signature of ``length`` bytes that starts with ``known``, one position at a
    time, keeping the candidate whose refusals were the slowest (``position_times``); stops
    when the receiver accepts a guess."""
    requests = 0
    while len(known) < length:
        filler = bytes([alphabet[0]]) * (length - len(known) - 1)
        best, best_us = alphabet[0], float("-inf")
        for c, accepted, took_us in position_times(
            oracle, known, length, alphabet=alphabet, repeats=repeats, quantile=quantile
        ):
            requests += repeats
            if accepted:
                return Attack(known + bytes([c]) + filler, True, requests)
            if took_us > best_us:
                best, best_us = c, took_us
        known += bytes([best])
    return Attack(known, False, requests)


def attack(
    expected: bytes,
    compare: Compare,
    *,
    repeats: int = 75,
    seed: int = 7,
    timing: Timing = Timing(),
) -> Attack:
    """The notebook's attack: ``guess_by_leak`` over every byte of ``expected`` (nothing
    known, not even ``v1,``) against a ``timed_receiver`` that checks it with ``compare``."""
    receiver = timed_receiver(expected, compare, random.Random(seed), timing)
    return guess_by_leak(len(expected), receiver, repeats=repeats)


def requests_max(length: int, alphabet: bytes = ALPHABET, repeats: int = 1) -> int:
    """The most requests ``guess_by_leak`` can send: every candidate at every position."""
    return length * len(alphabet) * repeats
