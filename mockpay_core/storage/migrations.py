"""Versioned SQL migrations shipped beside each adapter: ``migrations/NNNN_name.sql``."""

from __future__ import annotations

import re
from importlib import resources

_MIGRATION_NAME = re.compile(r"(\d{4})_\w+\.sql")


def shipped(package: str) -> list[tuple[int, str]]:
    """(version, sql) of every migration in ``package``'s ``migrations`` folder, in order."""
    found = []
    for entry in resources.files(package).joinpath("migrations").iterdir():
        match = _MIGRATION_NAME.fullmatch(entry.name)
        if match:
            found.append((int(match.group(1)), entry.read_text(encoding="utf-8")))
    return sorted(found)
