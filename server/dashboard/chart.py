"""Charts drawn on the server as SVG (no chart library, nothing fetched): payments per
minute stacked by status, and webhook latency percentiles as bars."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from mockpay_core.service.overview import MinuteCounts

WIDTH_PX, HEIGHT_PX, MARGIN_PX = 640, 200, 30
# One colour per status, the same on every chart and in the legend.
COLOURS: Final = {
    "pending": "#9aa5b1", "flagged": "#e8a33d", "authorized": "#5b8def",
    "success": "#2f9e6e", "failed": "#d64545", "canceled": "#6b6b6b",
    "partially_refunded": "#9f7aea", "refunded": "#7b4fd6", "disputed": "#c2410c",
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    colour: str
    title: str


@dataclass(frozen=True, slots=True)
class Chart:
    bars: list[Bar]
    peak: int  # the tallest column's count: the y axis's top
    width_px: int = WIDTH_PX
    height_px: int = HEIGHT_PX
    margin_px: int = MARGIN_PX


def per_minute(counts: MinuteCounts) -> Chart:
    """A column per minute, stacked by status in ``COLOURS``' order."""
    totals = [sum(c[i] for c in counts.by_status.values()) for i in range(counts.minutes)]
    peak = max(totals, default=0)
    plot_w, plot_h = WIDTH_PX - 2 * MARGIN_PX, HEIGHT_PX - 2 * MARGIN_PX
    column = plot_w / counts.minutes
    bars = []
    for i in range(counts.minutes):
        base = float(HEIGHT_PX - MARGIN_PX)
        for status, colour in COLOURS.items():
            n = counts.by_status.get(status, [0] * counts.minutes)[i]
            if n == 0:
                continue
            h = plot_h * n / peak
            base -= h
            label = f"minute {i - counts.minutes + 1}: {n} {status}"
            bars.append(Bar(MARGIN_PX + i * column, base, max(column - 1, 1), h, colour, label))
    return Chart(bars, peak)


def latency(percentiles_s: dict[str, float | None]) -> Chart:
    """One horizontal bar per percentile that has a value (None: nothing delivered yet)."""
    known = {k: v for k, v in percentiles_s.items() if v is not None}
    peak_s = max(known.values(), default=0.0) or 1.0
    row_h = 28
    bars = [
        Bar(90, 10 + i * row_h, (WIDTH_PX - 200) * value / peak_s, row_h - 8, "#5b8def",
            f"{name}: {value:.3f} s")
        for i, (name, value) in enumerate(known.items())
    ]  # fmt: skip
    return Chart(bars, round(peak_s), WIDTH_PX, 20 + row_h * max(len(known), 1))
