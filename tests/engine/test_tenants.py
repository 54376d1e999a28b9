"""Tenants: registration, hashed api keys, authentication, secrets."""

from __future__ import annotations

import base64
import hashlib
import re

import pytest

from mockpay_core import Engine
from mockpay_core.errors import AuthenticationError, EmailTaken, NotFound, ValidationError
from mockpay_core.storage.sqlite import SqliteStore


def test_register_returns_the_key_once_and_stores_only_its_hash(engine: Engine) -> None:
    new = engine.register_tenant("Acme", "dev@acme.test")
    assert re.fullmatch(r"[0-9a-f]{64}", new.api_key)
    assert new.tenant.webhook_secret.startswith("whsec_")
    assert len(base64.b64decode(new.tenant.webhook_secret.removeprefix("whsec_"))) == 32
    assert new.tenant.rate_limit_tier == "standard"
    if isinstance(engine.store, SqliteStore):
        dump = "\n".join(engine.store.raw_connection().iterdump())
        assert new.api_key not in dump
        assert hashlib.sha256(new.api_key.encode()).hexdigest() in dump


def test_email_is_unique_case_insensitively(engine: Engine) -> None:
    engine.register_tenant("Acme", "dev@acme.test")
    with pytest.raises(EmailTaken, match="Email already registered"):
        engine.register_tenant("Other", "DEV@Acme.Test")


def test_register_names_every_bad_field(engine: Engine) -> None:
    with pytest.raises(ValidationError) as info:
        engine.register_tenant("", "not-an-email")
    assert [f for f, _ in info.value.errors] == ["name", "email"]


def test_authenticate(engine: Engine) -> None:
    new = engine.register_tenant("Acme", "dev@acme.test")
    assert engine.authenticate(new.api_key) == new.tenant
    with pytest.raises(AuthenticationError, match="API key missing"):
        engine.authenticate(None)
    for bad in ("0" * 64, "short", new.api_key.upper(), 42):
        with pytest.raises(AuthenticationError, match="Invalid API key"):
            engine.authenticate(bad)


def test_rotate_secret_keeps_the_previous_one(engine: Engine) -> None:
    t = engine.register_tenant("Acme", "dev@acme.test").tenant
    rotated = engine.rotate_webhook_secret(t.id)
    assert rotated.webhook_secret != t.webhook_secret
    assert rotated.previous_webhook_secret == t.webhook_secret
    assert rotated.secret_rotated_at == engine.clock.now()
    assert engine.get_tenant(t.id) == rotated
    with pytest.raises(NotFound):
        engine.rotate_webhook_secret("nope")


def test_tiers_and_listing(engine: Engine) -> None:
    t = engine.register_tenant("Acme", "dev@acme.test", rate_limit_tier="original").tenant
    assert t.rate_limit_tier == "original"
    assert engine.set_rate_limit_tier(t.id, "unlimited").rate_limit_tier == "unlimited"
    assert [x.id for x in engine.list_tenants()] == [t.id]
