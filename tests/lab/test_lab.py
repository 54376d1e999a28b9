"""The functions the notebooks call."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from mockpay_core import Engine, SeededIds, SimulatedClock
from mockpay_core.config import EngineConfig
from mockpay_core.domain.states import TRANSITIONS
from mockpay_core.errors import AuditImmutable
from mockpay_core.lab import audit, diagram, idempotency, runs, scale, webhooks

HOOK = "http://127.0.0.1:4000/hooks"


def test_the_diagram_has_every_state_and_every_edge_of_the_table() -> None:
    arrows = diagram.arrows()
    pairs = {(a.source, a.target) for a in arrows}
    assert len(pairs) == len(arrows)
    for e in TRANSITIONS:
        source = "(new)" if e.source is None else str(e.source)
        assert (source, str(e.target)) in pairs
    positions = diagram.layout()
    assert set(positions) == {a.source for a in arrows} | {a.target for a in arrows}
    assert positions["(new)"][0] == 0 and positions["success"][0] == 2
    assert len(set(positions.values())) == len(positions)


def test_arrows_within_a_column_pass_over_as_few_states_as_they_can() -> None:
    positions, arrows = diagram.layout(), diagram.arrows()
    (_, y_pr), (_, y_disputed) = positions["partially_refunded"], positions["disputed"]
    assert abs(y_pr - y_disputed) == 1  # the dispute pair, two arrows, sits side by side
    jumps = [
        a for a in arrows
        if positions[a.source][0] == positions[a.target][0]
        and abs(positions[a.source][1] - positions[a.target][1]) > 1
    ]  # fmt: skip
    assert len(jumps) == 2  # each three-state cycle needs one: pending/flagged/failed, ...
    assert all(diagram.bend(a, positions) > diagram.bend(arrows[0], positions) for a in jumps)


@pytest.mark.parametrize("rad", [0.0, 0.08, -0.25, 0.45])
def test_curve_middle_is_on_matplotlibs_arc3_curve(rad: float) -> None:
    from matplotlib.patches import ConnectionStyle

    start, end = (10.0, 20.0), (130.0, -60.0)
    path = ConnectionStyle.Arc3(rad=rad)(start, end, shrinkA=0, shrinkB=0)
    (x0, y0), (cx, cy), (x1, y1) = path.vertices[:3]  # a quadratic Bezier: ends, control
    expected = (0.25 * x0 + 0.5 * cx + 0.25 * x1, 0.25 * y0 + 0.5 * cy + 0.25 * y1)
    assert diagram.curve_middle(start, end, rad) == pytest.approx(expected)


def test_load_merges_changes_into_one_key_only() -> None:
    s = runs.load("05-webhook-outage.yaml", name="x", engine={"retry_schedule": "original"})
    assert (s.name, s.engine.retry_schedule, s.engine.default_fraud_rules) == (
        "x", "original", False
    )  # fmt: skip


def test_play_and_verdicts(tmp_path: Path) -> None:
    result = runs.play("03-key-reuse.yaml", tmp_path, name="reuse")
    assert (tmp_path / "reuse" / "payments.parquet").is_file()
    assert all(line.startswith("PASS") for line in runs.verdicts(result))
    failing = runs.play(
        "03-key-reuse.yaml", tmp_path,
        expectations=[{"name": "two payments", "sql": "SELECT count(*) FROM payments", "value": 2}],
    )  # fmt: skip
    assert runs.verdicts(failing) == ["FAIL  two payments  (expected == 2, got 1)"]


@pytest.mark.parametrize(("on", "payments", "replayed"), [(True, 1, 19), (False, 20, 0)])
def test_retry_storm(on: bool, payments: int, replayed: int) -> None:
    storm = idempotency.retry_storm(idempotency=on, requests=20)
    assert idempotency.charges(storm) == {
        "requests": 20, "payments": payments, "charged_minor": 25_000 * payments,
        "replayed": replayed,
    }  # fmt: skip


def _engine() -> tuple[Engine, str]:
    e = Engine.open(":memory:", clock=SimulatedClock(), ids=SeededIds(3),
                    config=EngineConfig(seed_default_fraud_rules=False))  # fmt: skip
    t = e.register_tenant("Acme", "a@x.test").tenant.id
    for i in range(3):
        p = e.create_payment(t, amount=10, currency="USD", webhook_url=HOOK, idempotency_key=f"{i}")
        e.simulate(t, p.value.id, "success")
    return e, t


def test_audit_attacker_tools() -> None:
    e, t = _engine()
    head = audit.head(e, t)
    assert [r["seq"] for r in audit.rows(e, t)] == list(range(1, 7))
    with pytest.raises(AuditImmutable, match="append-only"):
        audit.tamper(e, "UPDATE audit_log SET new_status = 'refunded' WHERE seq = 2")
    audit.drop_triggers(e)
    assert audit.tamper(e, "UPDATE audit_log SET new_status = 'refunded' WHERE seq = 2") == 1
    assert e.verify_audit(t).broken_seq == 2
    assert audit.rechain(e, t) == 5
    assert e.verify_audit(t).ok and audit.head(e, t) != head


def test_webhook_frames_and_dlq_replay(tmp_path: Path) -> None:
    result = runs.play(
        "05-webhook-outage.yaml", tmp_path, engine={"retry_schedule": "original"},
        phases=[{"name": "p", "tenant": "shop", "duration": "3h",
                 "arrival": {"kind": "constant", "rate_per_s": 0.005}}],
        settle="1h", expectations=[],
    )  # fmt: skip
    run = result.run_dir
    assert webhooks.attempts(run).height >= 54
    dead = webhooks.dlq_depth(run, every_s=3600)
    assert dead["dead"].to_list()[:2] == [0, 0] and dead["dead"][-1] > 0
    assert webhooks.latency(run)["latency_s"].max() < 10
    replay = webhooks.replay_dead_letters(run)
    assert replay["replayed"] == dead["dead"][-1] == replay["delivered"]
    assert replay["still_dead"] == 0


def test_bulk_run_and_timer(tmp_path: Path) -> None:
    run = scale.bulk_run(tmp_path, 500, days=1, seed=1)
    payments = pl.read_parquet(run / "payments.parquet")
    assert payments.height == 500 and set(payments["status"]) == {"success", "failed"}
    assert pl.read_parquet(run / "audit_log.parquet").height == 1000
    assert scale.bulk_run(tmp_path, 500, days=1, seed=1) == run
    assert pl.read_parquet(run / "payments.parquet").equals(payments)
    value, ms = scale.timed(lambda: 42)
    assert value == 42 and ms >= 0


def test_exactly_once_fails_on_duplicates_where_count_distinct_does_not(tmp_path: Path) -> None:
    happy = runs.play("01-happy-path.yaml", tmp_path).run_dir
    assert webhooks.exactly_once(webhooks.effects_per_event(happy))
    flapping = runs.play("06-flapping-receiver.yaml", tmp_path).run_dir
    effects = webhooks.effects_per_event(flapping)
    deduped, naive = (effects.filter(pl.col("tenant") == t) for t in ("shop", "naive-shop"))
    assert webhooks.exactly_once(deduped)
    assert not webhooks.exactly_once(naive) and naive["effects"].max() >= 2
    assert naive["event_id"].n_unique() == naive.height  # what count(DISTINCT) would see
    assert not webhooks.exactly_once(effects.head(0))


def test_paired_arrows_bow_apart() -> None:
    positions, arrows = diagram.layout(), diagram.arrows()
    pairs = [
        (a, b)
        for a in arrows
        for b in arrows
        if (a.source, a.target) == (b.target, b.source) and a.source != a.target
    ]
    assert pairs
    for a, b in pairs:
        middles = [
            diagram.curve_middle(positions[x.source], positions[x.target],
                                 diagram.bend(x, positions, arrows))
            for x in (a, b)
        ]  # fmt: skip
        (xa, ya), (xb, yb) = middles
        assert ((xa - xb) ** 2 + (ya - yb) ** 2) ** 0.5 >= 0.3


def test_each_defence_alone_against_each_attack() -> None:
    matrix = audit.defence_matrix().rows_by_key("attack", named=True, unique=True)
    assert matrix == {
        "edit": {"trigger": True, "hash chain": True, "published head": True},
        "drop trigger + edit": {"trigger": False, "hash chain": True, "published head": True},
        "drop + edit + rehash": {"trigger": False, "hash chain": False, "published head": True},
    }


def test_describe_and_recomputed_head() -> None:
    e, t = _engine()
    assert audit.recomputed_head(e, t) == audit.head(e, t)
    assert audit.describe(e.verify_audit(t)) == "the chain verifies (6 rows checked)"
    audit.drop_triggers(e)
    audit.tamper(e, "UPDATE audit_log SET new_status = 'refunded' WHERE seq = 2")
    assert audit.describe(e.verify_audit(t)).startswith("broken at seq 2: ")
    assert audit.recomputed_head(e, t) != audit.head(e, t)


def test_same_answer_compares_values_not_names_or_int_widths() -> None:
    duck = pl.DataFrame({"c": ["EUR", "USD"], "count_star()": [2, 3]})
    ours = pl.DataFrame({"currency": ["EUR", "USD"], "n": pl.Series([2, 3], dtype=pl.UInt32)})
    assert scale.same_answer(duck, ours)
    assert not scale.same_answer(duck, ours.with_columns(n=pl.lit(9, dtype=pl.UInt32)))
    assert not scale.same_answer(duck.head(1), ours)


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [(0.0123, "12.3 ms"), (2.0, "2 s"), (75, "1.25 min"), (9789.9, "2.72 h"), (0, "0 ms")],
)
def test_human_duration(seconds: float, shown: str) -> None:
    assert webhooks.human_duration(seconds) == shown


def test_latency_summary_splits_by_the_outage() -> None:
    lat = pl.DataFrame({"latency_s": [0.01, 0.02, 7200.0, 3600.0], "created_h": [0.5, 8, 2, 6]})
    rows = webhooks.latency_summary(lat, (1, 7)).rows_by_key("events", named=True, unique=True)
    assert rows["all"]["count"] == 4
    down, up = rows["created while the receiver was down"], rows["created while it was up"]
    assert (down["count"], down["max"], up["max"]) == (2, "2 h", "20 ms")
    empty = webhooks.latency_summary(lat.head(0), (1, 7))
    assert empty["median"].to_list() == ["-", "-", "-"]
