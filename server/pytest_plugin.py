"""The pytest plugin (installed with the package): the ``mockpay_server`` fixture."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from server.testing import RunningServer, running_server


@pytest.fixture
def mockpay_server() -> Iterator[RunningServer]:
    """A MockPay Lab server on 127.0.0.1 with a temporary database and a registered tenant:
    ``.url``, ``.auth`` (headers), ``.api_key``, ``.tenant_id``, ``.webhook_secret``,
    ``.admin`` (admin headers)."""
    with running_server() as server:
        yield server
