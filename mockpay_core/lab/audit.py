"""An attacker with database access, for the tampering notebook.

``drop_triggers`` removes the append-only triggers, ``tamper`` runs SQL behind them, and
``rechain`` recomputes every hash after an edit, as a careful attacker would: the chain then
verifies again, and only a head hash kept somewhere else (``head``) tells.
``defence_matrix`` runs each attack against each defence alone; ``describe`` puts a
verification in words.
"""

from __future__ import annotations

import json
from typing import Any, Final

import polars as pl

from mockpay_core.clock import SimulatedClock
from mockpay_core.config import EngineConfig
from mockpay_core.domain.audit import CHAINED_FIELDS, GENESIS, ChainVerification, chain_hash
from mockpay_core.engine import Engine
from mockpay_core.errors import AuditImmutable
from mockpay_core.ids import SeededIds


def rows(engine: Engine, tenant_id: str) -> list[dict[str, Any]]:
    """The tenant's audit rows in chain order, every column."""
    with engine.store.tables() as tables:
        return tables.audit_rows(tenant_id)


def head(engine: Engine, tenant_id: str) -> str:
    """The hash of the tenant's last audit row: publish it elsewhere to pin the chain."""
    chain = rows(engine, tenant_id)
    return str(chain[-1]["hash"]) if chain else GENESIS


def recomputed_head(engine: Engine, tenant_id: str) -> str:
    """The head hash recomputed from the rows' contents, from the first: what a verifier
    holding a published head compares with it (the stored last hash may have been kept)."""
    digest = GENESIS
    for row in rows(engine, tenant_id):
        fields = {k: row[k] for k in CHAINED_FIELDS}
        fields["metadata"] = json.loads(fields["metadata"])
        digest = chain_hash(digest, fields)
    return digest


def tamper(engine: Engine, sql: str, params: tuple[Any, ...] = ()) -> int:
    """Run ``sql`` directly on the database (the triggers still apply); rows changed."""
    with engine.store.tables() as tables:
        return tables.tamper(sql, params, behind_triggers=False)


def drop_triggers(engine: Engine) -> None:
    with engine.store.tables() as tables:
        tables.tamper("", behind_triggers=True)


def rechain(engine: Engine, tenant_id: str) -> int:
    """Recompute ``prev_hash`` and ``hash`` of every row from the first; rows rewritten."""
    prev, changed = GENESIS, 0
    with engine.store.tables() as tables:
        for row in tables.audit_rows(tenant_id):
            fields = {k: row[k] for k in CHAINED_FIELDS}
            fields["metadata"] = json.loads(fields["metadata"])
            digest = chain_hash(prev, fields)
            if (row["prev_hash"], row["hash"]) != (prev, digest):
                changed += tables.tamper(
                    "UPDATE audit_log SET prev_hash = ?, hash = ? WHERE id = ?",
                    (prev, digest, row["id"]),
                )
            prev = digest
    return changed


def describe(result: ChainVerification) -> str:
    """A verification in words: what was checked, and where and why it broke."""
    if result.ok:
        return f"the chain verifies ({result.rows_checked} rows checked)"
    return (
        f"broken at seq {result.broken_seq}: {result.reason} ({result.rows_checked} rows checked)"
    )


ATTACKS: Final = {  # name: (drops the triggers first, recomputes the chain after)
    "edit": (False, False),
    "drop trigger + edit": (True, False),
    "drop + edit + rehash": (True, True),
}
DEFENCES: Final = ("trigger", "hash chain", "published head")
HOOK: Final = "http://acme.test/h"
EDIT: Final = "UPDATE audit_log SET new_status = 'refunded' WHERE seq = 2"


def _victim() -> tuple[Engine, str]:
    config = EngineConfig(seed_default_fraud_rules=False)
    engine = Engine.open(":memory:", clock=SimulatedClock(), ids=SeededIds(5), config=config)
    tenant = engine.register_tenant("Acme", "dev@acme.test").tenant.id
    for i in range(3):
        pay = engine.create_payment(
            tenant, amount=20 + i, currency="USD", webhook_url=HOOK, idempotency_key=f"o{i}"
        )
        engine.simulate(tenant, pay.value.id, "success")
    return engine, tenant


def _caught(attack: str, defence: str) -> bool:
    drops, rehashes = ATTACKS[attack]
    engine, tenant = _victim()
    with engine:
        published = head(engine, tenant)
        if defence == "trigger":  # the schema as it is: does the attack get through?
            if drops:
                drop_triggers(engine)
            try:
                tamper(engine, EDIT)
            except AuditImmutable:
                return True
            return False
        drop_triggers(engine)  # the other defences alone, as if there were no trigger
        tamper(engine, EDIT)
        if rehashes:
            rechain(engine, tenant)
        if defence == "hash chain":
            return not engine.verify_audit(tenant).ok
        return recomputed_head(engine, tenant) != published


def defence_matrix() -> pl.DataFrame:
    """Each attack of ``ATTACKS`` against each defence alone, each on a fresh engine: one
    row per attack, one boolean column per defence (True: caught)."""
    return pl.DataFrame([{"attack": a, **{d: _caught(a, d) for d in DEFENCES}} for a in ATTACKS])
