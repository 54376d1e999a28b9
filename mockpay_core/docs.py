"""Documentation rendered from the code itself, so it cannot drift from it."""

from __future__ import annotations

from mockpay_core.domain.states import TRANSITIONS


def _name(state: object) -> str:
    return "(new)" if state is None else str(state)


def transition_table_markdown() -> str:
    """The transition table as a Markdown table (the README shows exactly this)."""
    lines = ["| from | action | to | webhook event |", "|---|---|---|---|"]
    for e in TRANSITIONS:
        lines.append(f"| {_name(e.source)} | {e.action} | {e.target} | {e.event or '-'} |")
    return "\n".join(lines)


def transition_diagram_mermaid() -> str:
    """The state machine as a Mermaid state diagram, one arrow per (source, action, target)."""
    lines = ["stateDiagram-v2"]
    for e in TRANSITIONS:
        source = "[*]" if e.source is None else str(e.source)
        lines.append(f"    {source} --> {e.target}: {e.action}")
    return "\n".join(lines)
