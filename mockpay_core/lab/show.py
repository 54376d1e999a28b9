"""Output for the notebooks: Markdown and Mermaid that a notebook displays rendered, and
whose plain-text form (what nbval compares, what a terminal prints) is the text itself;
and Polars tables printed whole."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl


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


def polars_tables(rows_max: int = 50, text_chars_max: int = 60) -> None:
    """Print Polars tables whole, up to ``rows_max`` rows (its default of 10 hides the row
    that matters) and ``text_chars_max`` characters of text per cell."""
    pl.Config.set_tbl_rows(rows_max)
    pl.Config.set_fmt_str_lengths(text_chars_max)
    pl.Config.set_tbl_width_chars(120)
