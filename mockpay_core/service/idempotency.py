"""Idempotent execution: every mutating command runs through ``run``.

One unit of work holds the key's lock, looks the key up, and either replays the stored
outcome or executes the command and stores its outcome, in the same transaction as the
command's own writes (brandur's "atomic phases" collapsed into one phase, since every
command here is a single local transaction):

- the same key and the same request (same fingerprint) replays the first outcome, marked
  ``replayed``: a success, or an error raised after execution began;
- the same key with a different request raises ``IdempotencyKeyReused``;
- concurrent callers with one key queue on the key's lock (taken after the tenant's: every
  writer locks tenant, key, then payment, so none waits for another in a circle); the
  first executes, the others then replay it (or get ``IdempotencyKeyInUse`` /
  ``StorageBusy`` after a bounded wait);
- ``ValidationError`` and storage errors are never stored, so a corrected retry works;
- a record older than ``idempotency_ttl_s`` is ignored and replaced: the key starts anew;
- with ``EngineConfig(idempotency=False)`` keys are ignored and every call executes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeVar

from mockpay_core.domain import validation as v
from mockpay_core.domain.model import Outcome
from mockpay_core.errors import (
    IdempotencyKeyReused,
    MockPayError,
    StorageError,
    ValidationError,
    error_from_record,
)
from mockpay_core.service.context import Context
from mockpay_core.storage.protocol import IdempotencyRecord, UnitOfWork


class Result(Protocol):
    def to_data(self) -> dict[str, Any]: ...


R = TypeVar("R", bound=Result)


_ENCODE = json.JSONEncoder(sort_keys=True, separators=(",", ":")).encode


def fingerprint(operation: str, target: str | None, params: dict[str, Any]) -> str:
    """A digest of the normalised request: same digest, same request."""
    body = _ENCODE([operation, target, params])
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def run(
    ctx: Context,
    tenant_id: str,
    key: str | None,
    operation: str,
    request_fingerprint: str,
    execute: Callable[[UnitOfWork, datetime], R],
    decode: Callable[[dict[str, Any]], R],
    ahead: Callable[[UnitOfWork, datetime], None] | None = None,
) -> Outcome[R]:
    """``ahead(uow, now)``: hints of what ``execute`` will read (``expect_window_stats``),
    given before the key is looked up, so that a store may fetch both at once."""
    now = ctx.clock.now()
    if key is None or not ctx.config.idempotency:
        with ctx.store.unit_of_work() as uow:
            uow.lock_tenant(tenant_id)
            return Outcome(execute(uow, now))

    error: MockPayError | None = None
    with ctx.store.unit_of_work() as uow:
        uow.lock_tenant(tenant_id)  # first: every writer locks tenant, key, payment in order
        uow.lock_idempotency_key(tenant_id, key)
        if ahead is not None:
            ahead(uow, now)
        stored = uow.get_idempotency(tenant_id, key)
        if stored is not None and stored.expires_at > now:
            if stored.fingerprint != request_fingerprint:
                raise IdempotencyKeyReused(
                    f"Idempotency-Key {key!r} was already used with a different request",
                    details={"operation": stored.operation},
                )
            if not stored.succeeded:
                raise error_from_record(stored.response)
            return Outcome(decode(stored.response), replayed=True, data=stored.response)
        try:
            with uow.savepoint():
                value = execute(uow, now)
            response = value.to_data()
        except (ValidationError, StorageError):
            raise
        except MockPayError as exc:
            error, response = exc, exc.to_record()
        expires_at = now + timedelta(seconds=ctx.config.idempotency_ttl_s)
        uow.put_idempotency(
            IdempotencyRecord(
                tenant_id,
                key,
                operation,
                request_fingerprint,
                error is None,
                response,
                now,
                expires_at,
            )
        )
    if error is not None:
        raise error
    return Outcome(value, data=response)


def run_keyed(
    ctx: Context,
    tenant_id: str,
    key: object,
    operation: str,
    target: str | None,
    params: dict[str, Any],
    execute: Callable[[UnitOfWork, datetime], R],
    decode: Callable[[dict[str, Any]], R],
) -> Outcome[R]:
    """``run`` for a command whose Idempotency-Key is optional and given as the caller
    sent it (checked here): the fingerprint is ``operation`` on ``target`` with ``params``."""
    checked = v.idempotency_key(key, required=False)
    fp = fingerprint(operation, target, params)
    return run(ctx, tenant_id, checked, operation, fp, execute, decode)
