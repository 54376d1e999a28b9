"""The official Stripe SDK against a live server on 127.0.0.1 (one per module), each test
with a tenant of its own (its lists hold only what it made)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest
import stripe

from server.testing import RunningServer, running_server

_emails = itertools.count()


@pytest.fixture(scope="module")
def server() -> Iterator[RunningServer]:
    # No default fraud rules: their velocity rule would hold the sixth create of a minute.
    with running_server(default_fraud_rules=False) as running:
        yield running


def new_key(server: RunningServer, tier: str | None = None) -> str:
    engine = server.app.state.engine
    return str(engine.register_tenant("SDK", f"sdk{next(_emails)}@x.test", tier).api_key)


def sdk(server: RunningServer, key: str) -> stripe.StripeClient:
    """A client as a team would point it here: only the base address changes."""
    return stripe.StripeClient(key, base_addresses={"api": server.url}, max_network_retries=0)


@pytest.fixture
def api_key(server: RunningServer) -> str:
    return new_key(server)


@pytest.fixture
def client(server: RunningServer, api_key: str) -> stripe.StripeClient:
    return sdk(server, api_key)
