"""The state machine laid out from ``TRANSITIONS``, so a drawing cannot drift from the table.

States go in columns by their distance from creation (breadth first over the table's
edges) and in rows by their order within a column; edges with the same source and target
are merged into one arrow whose label lists the actions.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from mockpay_core.domain.states import TRANSITIONS

NEW = "(new)"


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
        for i, state in enumerate(states)
    }
