"""The one exception tree of the engine.

Every error the engine raises is a ``MockPayError`` with a stable snake_case ``code``
that clients, the server's single error->HTTP map and idempotency replays rely on::

    MockPayError
    ├── ValidationError            validation_error          bad input; never stored for replay
    ├── AuthenticationError        authentication_failed     unknown or missing api key
    ├── NotFound                   not_found                 details name the resource and id
    ├── Conflict
    │   ├── EmailTaken             email_taken
    │   ├── InvalidTransition      invalid_transition        (state, action) not in the table
    │   ├── AmountExceeded         amount_exceeded           over-refund, over-capture, over-dispute
    │   │   └── BalanceInsufficient balance_insufficient    a payout over the available balance
    │   ├── AuthorizationExpired   authorization_expired
    │   ├── DeliveryNotDead        delivery_not_dead         replaying an event that is not dead
    │   ├── IdempotencyKeyReused   idempotency_key_reused    same key, different request
    │   └── IdempotencyKeyInUse    idempotency_key_in_use    same key still running after the wait
    ├── AuditImmutable             audit_immutable           UPDATE/DELETE on the audit log
    └── StorageError               storage_error
        ├── StorageBusy            database_busy             lock not obtained in time; retryable
        ├── BatchLost              batch_lost                a batch's transaction could not commit
        └── StorageUnavailable     database_unavailable      the database cannot be opened: says why

Adapters translate driver exceptions into ``StorageError``/``StorageBusy``/``AuditImmutable``;
nothing above the storage layer sees sqlite3 or psycopg exceptions.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar


class MockPayError(Exception):
    """Base of every engine error: a stable ``code``, a readable ``message``, ``details``."""

    code: ClassVar[str] = "mockpay_error"

    def __init__(self, message: str, *, details: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = dict(details or {})
        self.replayed = False

    def to_record(self) -> dict[str, Any]:
        """What an idempotency record stores to replay this error identically."""
        return {"code": self.code, "message": self.message, "details": self.details}

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, MockPayError)
            and type(self) is type(other)
            and self.to_record() == other.to_record()
        )

    def __hash__(self) -> int:
        return hash((self.code, self.message))


class ValidationError(MockPayError):
    """Bad input. ``details["errors"]`` lists ``{"field", "message"}`` for every bad field."""

    code = "validation_error"

    def __init__(
        self,
        errors: list[tuple[str, str]] | str,
        field: str | None = None,
        *,
        message: str | None = None,
    ) -> None:
        if isinstance(errors, str):
            errors = [(field or "request", errors)]
        message = message or ", ".join(f"{f}: {m}" for f, m in errors)
        super().__init__(
            message, details={"errors": [{"field": f, "message": m} for f, m in errors]}
        )

    @property
    def errors(self) -> list[tuple[str, str]]:
        return [(e["field"], e["message"]) for e in self.details["errors"]]


class AuthenticationError(MockPayError):
    code = "authentication_failed"


class NotFound(MockPayError):
    code = "not_found"

    def __init__(self, resource: str, resource_id: str) -> None:
        super().__init__(
            f"{resource.capitalize()} not found", details={"resource": resource, "id": resource_id}
        )

    @property
    def resource(self) -> str:
        return str(self.details["resource"])


class Conflict(MockPayError):
    code = "conflict"


class EmailTaken(Conflict):
    code = "email_taken"


class InvalidTransition(Conflict):
    """The (state, action) pair is not in the transition table."""

    code = "invalid_transition"

    def __init__(self, state: str | None, action: str, message: str | None = None) -> None:
        super().__init__(
            message or f"Cannot {action} a payment with status {state}",
            details={"state": state, "action": action},
        )


class AmountExceeded(Conflict):
    code = "amount_exceeded"


class BalanceInsufficient(AmountExceeded):
    code = "balance_insufficient"


class AuthorizationExpired(Conflict):
    code = "authorization_expired"


class DeliveryNotDead(Conflict):
    code = "delivery_not_dead"


class IdempotencyKeyReused(Conflict):
    code = "idempotency_key_reused"


class IdempotencyKeyInUse(Conflict):
    code = "idempotency_key_in_use"


class AuditImmutable(MockPayError):
    code = "audit_immutable"


class StorageError(MockPayError):
    code = "storage_error"


class StorageBusy(StorageError):
    code = "database_busy"


class BatchLost(StorageError):
    """A batch of units of work (``Store.batch()``) could not commit, through no fault its
    units were told of: nothing of it was committed, and each unit may run again on its
    own (where its own error, if it has one, is its own)."""

    code = "batch_lost"


class StorageUnavailable(StorageError):
    """The database cannot be opened. ``database`` names it (a URL's password masked) and
    ``reason`` says why, in a user's words: a missing folder, permission, connection
    refused, authentication, an unknown database."""

    code = "database_unavailable"

    def __init__(self, database: str, reason: str) -> None:
        super().__init__(
            f"cannot open the database {database}: {reason}",
            details={"database": database, "reason": reason},
        )


def _all_subclasses(cls: type[MockPayError]) -> list[type[MockPayError]]:
    found = [cls]
    for sub in cls.__subclasses__():
        found.extend(_all_subclasses(sub))
    return found


ERROR_CODES: dict[str, type[MockPayError]] = {c.code: c for c in _all_subclasses(MockPayError)}


def error_from_record(record: Mapping[str, Any]) -> MockPayError:
    """Rebuild a stored error (see ``MockPayError.to_record``) with the same class and text."""
    cls = ERROR_CODES.get(record["code"], MockPayError)
    err = cls.__new__(cls)
    MockPayError.__init__(err, record["message"], details=record.get("details"))
    err.replayed = True
    return err
