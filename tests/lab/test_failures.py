"""Notebook 8's claims: a crash before COMMIT leaves nothing and its retry does the work
once; a lost answer retried with its key charges once, without the layer twice; a killed
worker's batch is re-sent with the same webhook-id after its lease; a receiver that dedupes
on it applies each effect once, one that does not applies some twice."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mockpay_core.lab import failures, runs


@pytest.fixture(scope="module")
def crash(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    yield runs.play("09-crash-restart.yaml", tmp_path_factory.mktemp("crash")).run_dir


def test_a_crash_before_commit_leaves_nothing_and_the_retry_works_once(crash: Path) -> None:
    hit = failures.crashed_requests(crash)
    assert hit["attempts"].to_list() == ["1: storage_error, 2: success",
                                         "1: storage_error, 2: pending"]  # fmt: skip
    written = failures.rows_per_payment(crash, hit["payment_id"].to_list())
    assert written.height >= 4 and set(written["times"]) == {1}


def test_retries_with_the_key_never_charge_twice(crash: Path) -> None:
    keys = failures.charges_per_key(crash)
    assert keys["payments"].max() == 1 and keys["replayed"].sum() > 0
    assert failures.lost_answer(idempotency=True) == {
        "requests": 2, "payments": 1, "charged_twice": 0}  # fmt: skip
    assert failures.lost_answer(idempotency=False, retries=3)["charged_twice"] == 3


def test_a_killed_workers_batch_is_resent_after_its_lease(crash: Path, tmp_path: Path) -> None:
    again = failures.resent(crash)
    assert again.height >= 2 and (again["last_after_s"] >= 1000).all()
    assert set(again["outcomes"]) == {"processed, duplicate"}
    assert failures.applied_twice(crash) == 0
    naive = runs.play("09-crash-restart.yaml", tmp_path, name="naive", expectations=[],
                      receivers=[{"name": "main", "dedupe": False}]).run_dir  # fmt: skip
    assert failures.applied_twice(naive) == failures.resent(naive).height >= 2


def test_a_receiver_without_dedupe_applies_effects_twice(tmp_path: Path) -> None:
    run = runs.play("06-flapping-receiver.yaml", tmp_path).run_dir
    assert failures.applied_twice(run, "shop") == 0
    assert failures.applied_twice(run, "naive-shop") > 50
