"""Input validation: every rule, every field named."""

from __future__ import annotations

import pytest

from mockpay_core.domain import validation as v
from mockpay_core.errors import ValidationError


@pytest.mark.parametrize("key", ["k", "a" * 255, "order 1001/retry#2", "~!@#$%^&*()"])
def test_idempotency_keys_accepted(key: str) -> None:
    assert v.idempotency_key(key, required=True) == key


@pytest.mark.parametrize("key", ["", "a" * 256, "tab\there", "é", "line\n", 42])
def test_idempotency_keys_refused(key: object) -> None:
    with pytest.raises(ValidationError) as info:
        v.idempotency_key(key, required=True)
    assert info.value.errors[0][0] == "idempotency_key"


def test_idempotency_key_required_or_optional() -> None:
    with pytest.raises(ValidationError, match="is required"):
        v.idempotency_key(None, required=True)
    assert v.idempotency_key(None, required=False) is None


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:4000/hooks", "https://example.com/a?b=c", "http://[::1]:8080/"]
)
def test_webhook_urls_accepted(url: str) -> None:
    assert v.webhook_url(url) == url


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/",
        "example.com/hook",
        "http://",
        "http://user:pw@example.com/",
        "http://example.com:99999/",
        "",
        None,
        "https://" + "a" * 2050 + ".com",
        5,
    ],
)
def test_webhook_urls_refused(url: object) -> None:
    with pytest.raises(ValidationError) as info:
        v.webhook_url(url)
    assert info.value.errors[0][0] == "webhook_url"


def test_metadata_bounds() -> None:
    assert v.metadata(None) == {}
    assert v.metadata({"order": "1001"}) == {"order": "1001"}
    too_many = {f"k{i}": "v" for i in range(v.METADATA_KEYS_MAX + 1)}
    for bad in (too_many, {"k": 1}, {"k": "x" * 501}, {"": "v"}, {"k" * 41: "v"}, ["a"], "s"):
        with pytest.raises(ValidationError) as info:
            v.metadata(bad)
        assert info.value.errors[0][0].startswith("metadata")


def test_email_and_name() -> None:
    assert v.email(" Dev@Acme.test ") == "Dev@Acme.test"
    for bad in ("", "no-at-sign", "a@b", None, 3, "a b@c.d"):
        with pytest.raises(ValidationError):
            v.email(bad)
    with pytest.raises(ValidationError, match="name: is required"):
        v.name(None)


def test_collect_names_every_bad_field() -> None:
    def bad(field: str) -> None:
        raise ValidationError("is wrong", field)

    with pytest.raises(ValidationError) as info:
        v.collect(lambda: 1, lambda: bad("a"), lambda: bad("b"))
    assert info.value.errors == [("a", "is wrong"), ("b", "is wrong")]
    assert info.value.message == "a: is wrong, b: is wrong"
    assert v.collect(lambda: 1, lambda: 2) == [1, 2]
