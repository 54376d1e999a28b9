"""Notebook 6's headline: the naive comparison leaks a real ``v1,`` signature within the
notebook's guess budget, and ``hmac.compare_digest`` does not."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime

import pytest

from mockpay_core.domain.signing import sign_standard
from mockpay_core.errors import ValidationError
from mockpay_core.lab import check, signatures

# The notebook's own signature: the one the receiver expects for the forged body.
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SENT_AT = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
BODY = json.dumps({"event": "payment.success", "payment_id": "pay_1", "amount": "49.99"}).encode()
FORGED = BODY.replace(b"49.99", b"4999.00")
EXPECTED = sign_standard("evt_1", int(SENT_AT.timestamp()), FORGED, SECRET).encode()
REPEATS = 75


def test_the_target_is_a_v1_signature_in_the_attacks_alphabet() -> None:
    assert EXPECTED.startswith(b"v1,") and len(EXPECTED) == 47
    assert set(EXPECTED) <= set(signatures.ALPHABET)
    assert len(signatures.ALPHABET) == len(set(signatures.ALPHABET)) == 66


def test_naive_equal_counts_the_bytes_it_compared() -> None:
    assert signatures.naive_equal(b"v1,abcd", b"v1,abXX") == (False, 6)
    assert signatures.naive_equal(b"v1,abcd", b"v1,abcd") == (True, 7)
    assert signatures.naive_equal(b"v1,abcd", b"v1,abc") == (False, 0)
    assert signatures.constant_time_equal(b"v1,abcd", b"X1,abcd") == (False, 7)


def test_naive_equals_leaks_the_signature_within_the_notebooks_budget() -> None:
    attack = signatures.attack(EXPECTED, signatures.naive_equal, repeats=REPEATS)
    assert attack.accepted and attack.guess == EXPECTED
    assert attack.requests <= signatures.requests_max(len(EXPECTED), repeats=REPEATS)


def test_compare_digest_leaks_nothing_with_the_same_budget() -> None:
    attack = signatures.attack(EXPECTED, signatures.constant_time_equal, repeats=REPEATS)
    assert not attack.accepted
    assert attack.requests == signatures.requests_max(len(EXPECTED), repeats=REPEATS)
    assert sum(a == b for a, b in zip(attack.guess, EXPECTED, strict=True)) <= 5


def test_one_request_per_candidate_drowns_in_the_jitter() -> None:
    assert not signatures.attack(EXPECTED, signatures.naive_equal, repeats=1).accepted


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_leak_does_not_hang_on_the_seed(seed: int) -> None:
    secret = random.Random(seed).randbytes(32).hex()
    expected = sign_standard("evt_9", 1767268800, FORGED, "whsec_" + secret[:40]).encode()
    attack = signatures.attack(expected, signatures.naive_equal, repeats=REPEATS, seed=seed)
    assert attack.accepted and attack.guess == expected


def test_the_leak_shows_in_the_median_not_in_one_request() -> None:
    receiver = signatures.timed_receiver(EXPECTED, signatures.naive_equal, random.Random(0))
    column = list(signatures.position_times(receiver, EXPECTED[:3], len(EXPECTED), repeats=75))
    slowest = max(column, key=lambda t: t[2])
    assert slowest[0] == EXPECTED[3]
    with pytest.raises(ValidationError, match="repeats"):
        next(signatures.position_times(receiver, b"", 47, repeats=0))


def test_blind_guesses_check() -> None:
    assert check.blind_guesses(None).right is None
    assert check.blind_guesses(2**255).right is True
    assert check.blind_guesses(2**256).right is True
    assert check.blind_guesses(64**44).right is False
    assert check.blind_guesses(66**47).right is False
    assert check.blind_guesses(47 * 66 * 75).right is False
    assert check.blind_guesses(2**128).right is False
    verdict = check.blind_guesses(64**44)
    assert "2**25" not in verdict.why and "10^77" not in verdict.why
    assert str(verdict).startswith("Not yet") and "❌" in verdict._repr_markdown_()
