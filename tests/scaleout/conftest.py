"""Scale-out tests: processes on one PostgreSQL schema of the test's own."""

from __future__ import annotations

import pytest


@pytest.fixture
def pg_db(postgres_schema: tuple[str, str]) -> str:
    url, schema = postgres_schema
    return f"{url}?schema={schema}"
