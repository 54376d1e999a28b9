"""docs/stripe.md and the README show the tables the code renders, and their examples run."""

from __future__ import annotations

import re
from pathlib import Path

from server.stripe import docs
from server.testing import RunningServer

ROOT = Path(__file__).resolve().parents[2]
GUIDE = (ROOT / "docs" / "stripe.md").read_text()
README = (ROOT / "README.md").read_text()


def test_the_guide_shows_every_table_as_rendered() -> None:
    for table in (
        docs.status_table(),
        docs.cards_table(),
        docs.events_table(),
        docs.webhooks_table(),
        docs.errors_table(),
    ):
        assert table in GUIDE


def test_the_readme_shows_the_test_cards() -> None:
    assert docs.cards_table() in README.split("## Stripe's API (/v1)", 1)[1]


def test_the_guide_example_runs(server: RunningServer, api_key: str) -> None:
    blocks = re.findall(r"```python\n(.*?)```", GUIDE, re.S)
    assert len(blocks) == 2  # the guide's start and its webhook endpoint
    for block in blocks:
        block = block.replace("<a tenant's API key>", api_key).replace(
            "http://127.0.0.1:3000", server.url
        )
        exec(compile(block, "docs/stripe.md", "exec"), {})
