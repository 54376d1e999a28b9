"""The payment state machine: one data table and one gate function.

``TRANSITIONS`` lists every allowed edge as ``(source, action, target, event)``: a payment in
``source`` may take ``action`` and land in ``target``, and the tenant is notified with a
webhook event of type ``event`` (``None``: no notification, as for a plain ``pending``
creation in the original, and for a retry, whose outcome is what gets announced).
``source`` ``None`` is a payment that does not exist yet.

Where one action has two targets (a refund is partial or full), the amounts decide which;
``settled_status`` is that decision. Nothing else in the project compares status strings:
the engine, the docs and the notebooks read this table through ``transition`` and
``allowed_actions``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from mockpay_core.errors import InvalidTransition


class Status(StrEnum):
    PENDING = "pending"
    FLAGGED = "flagged"
    AUTHORIZED = "authorized"
    SUCCESS = "success"
    FAILED = "failed"
    CANCELED = "canceled"
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"
    DISPUTED = "disputed"


class Action(StrEnum):
    CREATE = "create"
    APPROVE = "approve"  # review of a flagged payment
    REJECT = "reject"
    SUCCEED = "succeed"  # approval of an automatic-capture payment
    AUTHORIZE = "authorize"  # approval of a manual-capture payment
    FAIL = "fail"
    RETRY = "retry"  # a declined payment takes another payment method (Stripe's retry)
    CAPTURE = "capture"
    CANCEL = "cancel"
    EXPIRE = "expire"
    REFUND = "refund"
    OPEN_DISPUTE = "open_dispute"
    WIN_DISPUTE = "win_dispute"
    LOSE_DISPUTE = "lose_dispute"


@dataclass(frozen=True, slots=True)
class Edge:
    source: Status | None
    action: Action
    target: Status
    event: str | None


S, A = Status, Action

TRANSITIONS: tuple[Edge, ...] = (
    Edge(None, A.CREATE, S.PENDING, None),
    Edge(None, A.CREATE, S.FLAGGED, "fraud.detected"),
    Edge(None, A.CREATE, S.FAILED, "payment.failed"),
    Edge(S.FLAGGED, A.APPROVE, S.PENDING, "review.approved"),
    Edge(S.FLAGGED, A.REJECT, S.FAILED, "review.rejected"),
    Edge(S.PENDING, A.SUCCEED, S.SUCCESS, "payment.success"),
    Edge(S.PENDING, A.AUTHORIZE, S.AUTHORIZED, "payment.authorized"),
    Edge(S.PENDING, A.FAIL, S.FAILED, "payment.failed"),
    Edge(S.PENDING, A.CANCEL, S.CANCELED, "payment.canceled"),
    Edge(S.FAILED, A.RETRY, S.PENDING, None),
    Edge(S.AUTHORIZED, A.CAPTURE, S.SUCCESS, "payment.captured"),
    Edge(S.AUTHORIZED, A.CANCEL, S.CANCELED, "payment.canceled"),
    Edge(S.AUTHORIZED, A.EXPIRE, S.CANCELED, "payment.expired"),
    Edge(S.SUCCESS, A.REFUND, S.PARTIALLY_REFUNDED, "payment.refunded"),
    Edge(S.SUCCESS, A.REFUND, S.REFUNDED, "payment.refunded"),
    Edge(S.PARTIALLY_REFUNDED, A.REFUND, S.PARTIALLY_REFUNDED, "payment.refunded"),
    Edge(S.PARTIALLY_REFUNDED, A.REFUND, S.REFUNDED, "payment.refunded"),
    Edge(S.SUCCESS, A.OPEN_DISPUTE, S.DISPUTED, "dispute.created"),
    Edge(S.PARTIALLY_REFUNDED, A.OPEN_DISPUTE, S.DISPUTED, "dispute.created"),
    Edge(S.DISPUTED, A.WIN_DISPUTE, S.SUCCESS, "dispute.won"),
    Edge(S.DISPUTED, A.WIN_DISPUTE, S.PARTIALLY_REFUNDED, "dispute.won"),
    Edge(S.DISPUTED, A.LOSE_DISPUTE, S.PARTIALLY_REFUNDED, "dispute.lost"),
    Edge(S.DISPUTED, A.LOSE_DISPUTE, S.REFUNDED, "dispute.lost"),
)

_EDGES: dict[tuple[Status | None, Action, Status], Edge] = {
    (e.source, e.action, e.target): e for e in TRANSITIONS
}
_ACTIONS: dict[Status | None, frozenset[Action]] = {}
for _e in TRANSITIONS:
    _ACTIONS[_e.source] = _ACTIONS.get(_e.source, frozenset()) | {_e.action}

TERMINAL: frozenset[Status] = frozenset(s for s in Status if s not in _ACTIONS)


def allowed_actions(state: Status | None) -> frozenset[Action]:
    """The actions the table allows from ``state``."""
    return _ACTIONS.get(state, frozenset())


def targets(state: Status | None, action: Action) -> frozenset[Status]:
    return frozenset(t for (s, a, t) in _EDGES if s == state and a == action)


def check_allowed(state: Status | None, action: Action, message: str | None = None) -> None:
    """Raise ``InvalidTransition`` unless ``action`` is allowed from ``state``."""
    if action not in allowed_actions(state):
        raise InvalidTransition(state.value if state else None, action.value, message)


def transition(state: Status | None, action: Action, target: Status) -> Edge:
    """The gate: the table's edge for (state, action, target), or ``InvalidTransition``."""
    edge = _EDGES.get((state, action, target))
    if edge is None:
        raise InvalidTransition(state.value if state else None, action.value)
    return edge


def settled_status(captured_minor: int, returned_minor: int) -> Status:
    """Status of a captured payment from how much of it went back (refunds, lost disputes)."""
    if returned_minor <= 0:
        return Status.SUCCESS
    if returned_minor < captured_minor:
        return Status.PARTIALLY_REFUNDED
    return Status.REFUNDED
