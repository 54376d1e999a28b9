"""An attacker with database access, for the tampering notebook.

``drop_triggers`` removes the append-only triggers, ``tamper`` runs SQL behind them, and
``rechain`` recomputes every hash after an edit, as a careful attacker would: the chain then
verifies again, and only a head hash kept somewhere else (``head``) tells.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from mockpay_core.domain.audit import CHAINED_FIELDS, GENESIS, chain_hash
from mockpay_core.engine import Engine

TRIGGERS = ("audit_log_no_update", "audit_log_no_delete")


def _conn(engine: Engine) -> sqlite3.Connection:
    store: Any = engine.store
    conn: sqlite3.Connection = store.raw_connection()
    return conn


def rows(engine: Engine, tenant_id: str) -> list[dict[str, Any]]:
    """The tenant's audit rows in chain order, every column."""
    conn = _conn(engine)
    cur = conn.execute("SELECT * FROM audit_log WHERE tenant_id = ? ORDER BY seq", (tenant_id,))
    names = [c[0] for c in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def head(engine: Engine, tenant_id: str) -> str:
    """The hash of the tenant's last audit row: publish it elsewhere to pin the chain."""
    chain = rows(engine, tenant_id)
    return str(chain[-1]["hash"]) if chain else GENESIS


def tamper(engine: Engine, sql: str, params: tuple[Any, ...] = ()) -> int:
    """Run ``sql`` directly on the database (the triggers still apply); rows changed."""
    conn = _conn(engine)
    with conn:
        return conn.execute(sql, params).rowcount


def drop_triggers(engine: Engine) -> None:
    conn = _conn(engine)
    with conn:
        for name in TRIGGERS:
            conn.execute(f"DROP TRIGGER IF EXISTS {name}")


def rechain(engine: Engine, tenant_id: str) -> int:
    """Recompute ``prev_hash`` and ``hash`` of every row from the first; rows rewritten."""
    conn = _conn(engine)
    prev, changed = GENESIS, 0
    with conn:
        for row in rows(engine, tenant_id):
            fields = {k: row[k] for k in CHAINED_FIELDS}
            if isinstance(fields["metadata"], str):
                fields["metadata"] = json.loads(fields["metadata"])
            digest = chain_hash(prev, fields)
            if (row["prev_hash"], row["hash"]) != (prev, digest):
                conn.execute(
                    "UPDATE audit_log SET prev_hash = ?, hash = ? WHERE id = ?",
                    (prev, digest, row["id"]),
                )
                changed += 1
            prev = digest
    return changed
