"""What a comparison that stops at the first wrong byte leaks, counted instead of timed.

``naive_equal`` is ``==`` as a loop: it returns at the first difference, so the work it does
(and so the time a refusal takes) grows with how many leading bytes of a guess are right.
``guess_by_leak`` plays the attacker who measures that: against ``naive_oracle`` it finds a
signature byte by byte, at most one alphabet's worth of guesses per byte, where a blind guess
needs the alphabet's size to the power of the length. Against ``constant_time_oracle``
(``hmac.compare_digest``, which always does the same work) it learns nothing.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable

Oracle = Callable[[bytes], tuple[bool, int]]
ALPHABET = b"0123456789abcdef"


def naive_equal(expected: bytes, given: bytes) -> tuple[bool, int]:
    """(equal?, bytes compared before the answer was known)."""
    if len(expected) != len(given):
        return False, 0
    for i, (a, b) in enumerate(zip(expected, given, strict=True)):
        if a != b:
            return False, i + 1
    return True, len(expected)


def naive_oracle(expected: bytes) -> Oracle:
    """What an attacker learns from a server that compares with ``naive_equal``: whether the
    guess was accepted, and how much work (time) the refusal took."""
    return lambda given: naive_equal(expected, given)


def constant_time_oracle(expected: bytes) -> Oracle:
    """The same server with ``hmac.compare_digest``: the work is always every byte."""
    return lambda given: (hmac.compare_digest(expected, given), max(len(expected), len(given)))


def guess_by_leak(length: int, oracle: Oracle, alphabet: bytes = ALPHABET) -> tuple[bytes, int]:
    """Guess a secret of ``length`` bytes, keeping at each position the byte whose refusal
    took the most work; returns (the best guess, guesses made)."""
    known, guesses = b"", 0
    for position in range(length):
        filler = bytes([alphabet[0]]) * (length - position - 1)
        best, best_work = alphabet[0], -1
        for c in alphabet:
            guesses += 1
            accepted, work = oracle(known + bytes([c]) + filler)
            if accepted:
                return known + bytes([c]) + filler, guesses
            if work > best_work:
                best, best_work = c, work
        known += bytes([best])
    return known, guesses
