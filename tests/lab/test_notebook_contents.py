"""What every committed notebook must hold: each "Try this" item ends in a check cell or a
collapsed worked answer, and no stored output shows an error, a warning, stderr or the raw
repr of an internal object."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("*.ipynb"))
ITEM = re.compile(r"^(\d+)\. ", re.MULTILINE)
RAW = ("object at 0x", " object>", "Warning:", "Traceback", "polars.config.Config")


def _cells(path: Path) -> list[dict]:
    return [{**c, "source": "".join(c["source"])} for c in json.loads(path.read_text())["cells"]]


def test_there_are_ten_notebooks() -> None:
    assert [p.name[:2] for p in NOTEBOOKS] == [f"{i:02d}" for i in range(1, 11)]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_try_this_item_ends_in_a_check_or_a_worked_answer(path: Path) -> None:
    cells = _cells(path)
    start = next(i for i, c in enumerate(cells) if "## Try this" in c["source"])
    items, unanswered = 0, []
    for i in range(start, len(cells)):
        text = cells[i]["source"]
        if cells[i]["cell_type"] != "markdown":
            continue
        if i == start:
            text = text[text.index("## Try this") :]
        parts = ITEM.split(text)[1:]  # number, body, number, body, ...
        for number, body in zip(parts[::2], parts[1::2], strict=True):
            items += 1
            is_last = body is parts[-1]
            follows = cells[i + 1] if i + 1 < len(cells) else None
            checked = (
                is_last
                and follows is not None
                and (
                    (follows["cell_type"] == "code" and "check." in follows["source"])
                    or follows["source"].lstrip().startswith("<details>")
                )
            )
            if "<details>" not in body and not checked:
                unanswered.append(number)
    assert items >= 3
    assert not unanswered, f"Try this items without a check or a worked answer: {unanswered}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_stored_outputs_are_clean(path: Path) -> None:
    for i, cell in enumerate(_cells(path)):
        for out in cell.get("outputs", []):
            assert out["output_type"] != "error", (i, out.get("ename"))
            assert out.get("name") != "stderr", (i, out.get("text"))
            text = "".join(out.get("text", "")) + "".join(out.get("data", {}).get("text/plain", ""))
            assert not [r for r in RAW if r in text], (i, text[:200])
        if cell["cell_type"] == "code":
            assert cell.get("outputs") is not None and cell.get("execution_count") is not None, i
