"""The transition table: every (state, action) pair, allowed or rejected."""

from __future__ import annotations

import itertools

import pytest

from mockpay_core.domain.states import (
    TERMINAL,
    TRANSITIONS,
    Action,
    Status,
    allowed_actions,
    check_allowed,
    settled_status,
    targets,
    transition,
)
from mockpay_core.errors import InvalidTransition

SOURCES = [None, *Status]
ALLOWED = {(e.source, e.action) for e in TRANSITIONS}


@pytest.mark.parametrize(("state", "action"), list(itertools.product(SOURCES, Action)))
def test_every_pair_is_allowed_or_rejected(state: Status | None, action: Action) -> None:
    if (state, action) in ALLOWED:
        check_allowed(state, action)
        for target in targets(state, action):
            assert transition(state, action, target).target is target
    else:
        with pytest.raises(InvalidTransition) as info:
            check_allowed(state, action)
        assert info.value.details == {"state": state.value if state else None, "action": action}
        assert str(action) in info.value.message
        for target in Status:
            with pytest.raises(InvalidTransition):
                transition(state, action, target)


@pytest.mark.parametrize(("state", "action"), sorted(ALLOWED, key=str))
def test_an_allowed_action_rejects_targets_outside_the_table(
    state: Status | None, action: Action
) -> None:
    for target in set(Status) - targets(state, action):
        with pytest.raises(InvalidTransition):
            transition(state, action, target)


def test_the_original_six_states_and_transitions_are_kept() -> None:
    edges = {(e.source, e.action, e.target) for e in TRANSITIONS}
    assert (None, Action.CREATE, Status.PENDING) in edges
    assert (None, Action.CREATE, Status.FLAGGED) in edges
    assert (Status.PENDING, Action.SUCCEED, Status.SUCCESS) in edges
    assert (Status.PENDING, Action.FAIL, Status.FAILED) in edges
    assert (Status.SUCCESS, Action.REFUND, Status.REFUNDED) in edges
    assert (Status.SUCCESS, Action.REFUND, Status.PARTIALLY_REFUNDED) in edges


def test_terminal_states_allow_nothing() -> None:
    assert {Status.CANCELED, Status.REFUNDED} == TERMINAL
    assert allowed_actions(Status.FAILED) == {Action.RETRY}  # a declined card, tried again
    for state in TERMINAL:
        assert allowed_actions(state) == frozenset()


def test_every_state_is_reachable_from_creation() -> None:
    seen, frontier = set(), {None}
    while frontier:
        state = frontier.pop()
        for edge in TRANSITIONS:
            if edge.source == state and edge.target not in seen:
                seen.add(edge.target)
                frontier.add(edge.target)
    assert seen == set(Status)


def test_only_plain_pending_creation_and_a_retry_are_silent() -> None:
    silent = [e for e in TRANSITIONS if e.event is None]
    assert [(e.source, e.action, e.target) for e in silent] == [
        (None, Action.CREATE, Status.PENDING),
        (Status.FAILED, Action.RETRY, Status.PENDING),  # its outcome is what is announced
    ]


@pytest.mark.parametrize(
    ("captured", "returned", "expected"),
    [
        (100, 0, Status.SUCCESS),
        (100, 1, Status.PARTIALLY_REFUNDED),
        (100, 99, Status.PARTIALLY_REFUNDED),
        (100, 100, Status.REFUNDED),
    ],
)
def test_settled_status(captured: int, returned: int, expected: Status) -> None:
    assert settled_status(captured, returned) is expected
