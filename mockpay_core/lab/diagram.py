"""The state machine laid out from ``TRANSITIONS``, so a drawing cannot drift from the table.

States go in columns by their distance from creation (breadth first over the table's
edges) and in rows by their order within a column; edges with the same source and target
are merged into one arrow whose label lists the actions.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from mockpay_core.domain.states import TRANSITIONS

NEW = "(new)"
COLUMN_PERMUTED_MAX: Final = 6  # 720 orders to try at most
BEND_PAIRED: Final = 0.35


@dataclass(frozen=True, slots=True)
class Arrow:
    source: str
    target: str
    label: str


def _name(state: object) -> str:
    return NEW if state is None else str(state)


def arrows() -> list[Arrow]:
    """One arrow per (source, target) pair of the table, labelled with its actions."""
    actions: dict[tuple[str, str], list[str]] = defaultdict(list)
    for e in TRANSITIONS:
        pair = (_name(e.source), _name(e.target))
        if str(e.action) not in actions[pair]:
            actions[pair].append(str(e.action))
    return [Arrow(s, t, ", ".join(a)) for (s, t), a in actions.items()]


def layout() -> dict[str, tuple[float, float]]:
    """(column, row) of every state: column is the fewest transitions from creation."""
    depth = {NEW: 0}
    frontier = [NEW]
    edges = arrows()
    while frontier:
        nxt = []
        for state in frontier:
            for a in edges:
                if a.source == state and a.target not in depth:
                    depth[a.target] = depth[state] + 1
                    nxt.append(a.target)
        frontier = nxt
    columns: dict[int, list[str]] = defaultdict(list)
    for state, d in depth.items():
        columns[d].append(state)
    return {
        state: (float(d), (len(states) - 1) / 2 - i)
        for d, states in columns.items()
        for i, state in enumerate(_fewest_jumps(states, edges))
    }


def _fewest_jumps(states: list[str], edges: list[Arrow]) -> list[str]:
    """The column's order whose arrows within the column pass over the fewest states (an
    arrow drawn over a state hides it); the first such order in breadth-first order."""
    inside = [(a.source, a.target) for a in edges if {a.source, a.target} <= set(states)]

    def passed_over(order: Iterable[str]) -> int:
        row = {state: i for i, state in enumerate(order)}
        return sum(abs(row[s] - row[t]) - 1 for s, t in inside if s != t)

    if len(states) > COLUMN_PERMUTED_MAX:  # too many orders to try: keep the found one
        return states
    return list(min(itertools.permutations(states), key=passed_over))


def bend(
    a: Arrow, positions: dict[str, tuple[float, float]], arrows: Iterable[Arrow] = ()
) -> float:
    """How far the arrow curves (matplotlib's ``arc3`` ``rad``): wide round a state that
    sits between its ends in one column; well apart from an arrow back between the same two
    states in ``arrows`` (each bows to its own side, so their labels part); a little for
    the rest, more for arrows back."""
    (x0, y0), (x1, y1) = positions[a.source], positions[a.target]
    if x0 == x1 and abs(y1 - y0) > 1:
        return 0.45
    if a.source != a.target and any(b.source == a.target and b.target == a.source for b in arrows):
        return BEND_PAIRED
    return 0.25 if x1 <= x0 else 0.08


def curve_middle(
    start: tuple[float, float], end: tuple[float, float], rad: float
) -> tuple[float, float]:
    """The middle of matplotlib's ``arc3`` curve from ``start`` to ``end`` (in the display
    coordinates it bends in): where an arrow's label sits on its own arrow."""
    (x0, y0), (x1, y1) = start, end
    return (x0 + x1) / 2 + rad * (y1 - y0) / 2, (y0 + y1) / 2 - rad * (x1 - x0) / 2
