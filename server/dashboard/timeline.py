"""A payment's path through the state machine, drawn as SVG from ``TRANSITIONS``: every
state and edge of the table, the ones its audit rows went through highlighted."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from mockpay_core import AuditEntry
from mockpay_core.domain.states import TRANSITIONS, Status

START: Final = "new"  # the table's None: before the payment exists
WIDTH_PX, HEIGHT_PX, NODE_W_PX, NODE_H_PX = 720, 270, 132, 34
S = Status
# Columns by how far along a payment is; rows keep each column's edges apart.
POSITIONS: Final[dict[str, tuple[int, int]]] = {
    START: (70, 135),
    S.FLAGGED: (230, 40), S.PENDING: (230, 135), S.FAILED: (230, 230),
    S.AUTHORIZED: (420, 40), S.SUCCESS: (420, 135), S.CANCELED: (420, 230),
    S.PARTIALLY_REFUNDED: (640, 40), S.DISPUTED: (640, 135), S.REFUNDED: (640, 230),
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Line:
    x1: float
    y1: float
    x2: float
    y2: float
    title: str
    taken: bool


@dataclass(frozen=True, slots=True)
class Node:
    name: str
    x: int
    y: int
    visited: bool
    current: bool


@dataclass(frozen=True, slots=True)
class Diagram:
    nodes: list[Node]
    lines: list[Line]
    width_px: int = WIDTH_PX
    height_px: int = HEIGHT_PX
    node_w_px: int = NODE_W_PX
    node_h_px: int = NODE_H_PX


def _name(status: Status | None) -> str:
    return START if status is None else status.value


def edges() -> dict[tuple[str, str], list[str]]:
    """(source, target) -> the actions of the table between them; self-loops left out."""
    found: dict[tuple[str, str], list[str]] = {}
    for e in TRANSITIONS:
        pair = (_name(e.source), _name(e.target))
        if pair[0] != pair[1]:
            found.setdefault(pair, []).append(e.action.value)
    return found


def path(history: Sequence[AuditEntry]) -> list[tuple[str, str]]:
    """The (from, to) of each audit row, oldest first."""
    return [(h.old_status or START, h.new_status) for h in history]


def _clipped(a: tuple[int, int], b: tuple[int, int]) -> tuple[float, float, float, float]:
    """The segment from box ``a`` to box ``b``, cut at their edges so the arrow shows."""
    (x1, y1), (x2, y2) = a, b
    dx, dy = x2 - x1, y2 - y1
    scale = max(abs(dx) / (NODE_W_PX / 2 + 4), abs(dy) / (NODE_H_PX / 2 + 4), 1e-9)
    cut_x, cut_y = dx / scale, dy / scale
    return x1 + cut_x, y1 + cut_y, x2 - cut_x, y2 - cut_y


def diagram(history: Sequence[AuditEntry], current: Status) -> Diagram:
    taken = set(path(history))
    visited = {name for pair in taken for name in pair} | {current.value}
    nodes = [
        Node(name, x, y, name in visited, name == current.value)
        for name, (x, y) in POSITIONS.items()
    ]
    lines = [
        Line(*_clipped(POSITIONS[a], POSITIONS[b]), f"{a} → {b}: {', '.join(actions)}",
             (a, b) in taken)
        for (a, b), actions in edges().items()
    ]  # fmt: skip
    lines.sort(key=lambda line: line.taken)  # the path drawn last, over the rest
    return Diagram(nodes, lines)
