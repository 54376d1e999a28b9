"""An attacker with database access, for the tampering notebook.

``drop_triggers`` removes the append-only triggers, ``tamper`` runs SQL behind them, and
``rechain`` recomputes every hash after an edit, as a careful attacker would: the chain then
verifies again, and only a head hash kept somewhere else (``head``) tells.
"""

from __future__ import annotations

import json
from typing import Any

from mockpay_core.domain.audit import CHAINED_FIELDS, GENESIS, chain_hash
from mockpay_core.engine import Engine


def rows(engine: Engine, tenant_id: str) -> list[dict[str, Any]]:
    """The tenant's audit rows in chain order, every column."""
    with engine.store.tables() as tables:
        return tables.audit_rows(tenant_id)


def head(engine: Engine, tenant_id: str) -> str:
    """The hash of the tenant's last audit row: publish it elsewhere to pin the chain."""
    chain = rows(engine, tenant_id)
    return str(chain[-1]["hash"]) if chain else GENESIS


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
