"""Rich text for the notebooks: Markdown and Mermaid that a notebook displays rendered, and
whose plain-text form (what nbval compares, what a terminal prints) is the text itself."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Markdown:
    """Markdown source, displayed rendered; ``repr`` is the source."""

    text: str

    def _repr_markdown_(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return self.text


def markdown(text: str) -> Markdown:
    """``text`` as Markdown for a cell's output."""
    return Markdown(text)


def mermaid(source: str) -> Markdown:
    """A Mermaid diagram, as the fenced block JupyterLab (4.1 and later) and GitHub draw."""
    return Markdown(f"```mermaid\n{source.strip()}\n```")
