"""The audit trail: append-only by trigger, tamper-evident by hash chain."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from mockpay_core import Engine, EngineConfig, SimulatedClock
from mockpay_core.storage.sqlite import SqliteStore
from tests.engine.helpers import captured


def _engine(tmp_path: Path, clock: SimulatedClock) -> Engine:
    return Engine(
        SqliteStore(str(tmp_path / "audit.db")),
        clock=clock,
        config=EngineConfig(seed_default_fraud_rules=False),
    )


def _audited(engine: Engine) -> tuple[str, list[str]]:
    tenant = engine.register_tenant("Acme", "dev@acme.test").tenant
    ids = []
    for _ in range(3):
        p = captured(engine, tenant.id, 100)
        engine.refund(engine.get_payment(tenant.id, p.id).tenant_id, p.id, 10)
        ids.append(p.id)
    return tenant.id, ids


def test_update_and_delete_are_refused_by_the_database(
    tmp_path: Path, clock: SimulatedClock
) -> None:
    with _engine(tmp_path, clock) as engine:
        tenant_id, _ = _audited(engine)
        raw = sqlite3.connect(tmp_path / "audit.db")
        for sql in ("UPDATE audit_log SET new_status = 'refunded'", "DELETE FROM audit_log"):
            with pytest.raises(sqlite3.IntegrityError, match="append-only"):
                raw.execute(sql)
        raw.close()
        assert engine.verify_audit(tenant_id).ok


@pytest.mark.parametrize(
    ("tamper", "seq"),
    [
        ("UPDATE audit_log SET new_status = 'failed' WHERE seq = 5", 5),
        ("UPDATE audit_log SET metadata = '{\"amount_minor\": 1}' WHERE seq = 3", 3),
        ("DELETE FROM audit_log WHERE seq = 4", 5),
        ("UPDATE audit_log SET created_at = '2020-01-01T00:00:00.000000+00:00' WHERE seq = 8", 8),
    ],
)
def test_tampering_behind_the_triggers_back_is_found(
    tmp_path: Path, clock: SimulatedClock, tamper: str, seq: int
) -> None:
    with _engine(tmp_path, clock) as engine:
        tenant_id, _ = _audited(engine)
        assert engine.verify_audit(tenant_id).ok
        raw = sqlite3.connect(tmp_path / "audit.db")
        raw.executescript(
            "DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;" + tamper + ";"
        )
        raw.close()
        result = engine.verify_audit(tenant_id)
        assert not result.ok and result.broken_seq == seq
        (broken_id,) = (
            sqlite3.connect(tmp_path / "audit.db")
            .execute("SELECT id FROM audit_log WHERE tenant_id = ? AND seq = ?", (tenant_id, seq))
            .fetchone()
        )
        assert result.broken_row_id == broken_id


def test_chains_are_per_tenant(engine: Engine) -> None:
    a = engine.register_tenant("A", "a@x.test").tenant
    b = engine.register_tenant("B", "b@x.test").tenant
    captured(engine, a.id)
    captured(engine, b.id)
    captured(engine, a.id)
    assert [
        e.seq
        for p in engine.list_payments(a.id).data[::-1]
        for e in engine.audit_history(a.id, p.id)
    ] == [1, 2, 3, 4]
    assert engine.verify_audit(a.id).rows_checked == 4
    assert engine.verify_audit(b.id).rows_checked == 2
