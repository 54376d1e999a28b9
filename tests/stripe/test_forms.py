"""Stripe's form encoding, as the SDKs write it, parsed back to nested parameters."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from stripe._encode import _api_encode  # the SDK's own encoder: what it sends is what we read

from mockpay_core.errors import ValidationError
from server.stripe import forms


def _sdk(params: dict[str, object]) -> str:
    return urlencode(list(_api_encode(params)))


def test_brackets_nest_objects_and_lists() -> None:
    text = "metadata[order]=42&expand[]=latest_charge&expand[]=customer&amount=2000"
    assert forms.parse(text) == {
        "metadata": {"order": "42"},
        "expand": ["latest_charge", "customer"],
        "amount": "2000",
    }


def test_what_the_python_sdk_sends_comes_back_as_it_was_given() -> None:
    params = {
        "amount": 2000,
        "confirm": True,
        "metadata": {"order": "42", "note": "a b&c=d"},
        "expand": ["latest_charge", "customer"],
        "payment_method_data": {"type": "card", "card": {"number": "4242424242424242"}},
        "items": [{"price": "p1", "quantity": 2}, {"price": "p2"}],
    }
    assert forms.parse(_sdk(params)) == {
        "amount": "2000",
        "confirm": "true",
        "metadata": {"order": "42", "note": "a b&c=d"},
        "expand": ["latest_charge", "customer"],
        "payment_method_data": {"type": "card", "card": {"number": "4242424242424242"}},
        "items": [{"price": "p1", "quantity": "2"}, {"price": "p2"}],
    }


def test_list_indices_are_read_in_index_order_not_arrival_order() -> None:
    assert forms.parse("expand[1]=b&expand[0]=a&expand[10]=c") == {"expand": ["a", "b", "c"]}


def test_empty_values_are_kept() -> None:
    assert forms.parse("description=&metadata[k]=") == {"description": "", "metadata": {"k": ""}}


@pytest.mark.parametrize(
    "text",
    [
        "a[b]=1&a=2",  # an object, then a value
        "a=1&a[b]=2",  # a value, then an object
        "a[b][c][d][e][f]=1",  # too deep
        "a]=1",
        "[a]=1",
        "0=a",  # top-level names are never list indices
        "expand[5000]=x",
        "&".join(f"k{i}=v" for i in range(forms.PAIRS_MAX + 1)),
    ],
)
def test_malformed_keys_are_400s(text: str) -> None:
    with pytest.raises(ValidationError):
        forms.parse(text)


def test_bodies_are_form_or_json() -> None:
    assert forms.parse_body(b"amount=1", "application/x-www-form-urlencoded") == {"amount": "1"}
    assert forms.parse_body(b'{"amount": 1}', "application/json") == {"amount": 1}
    assert forms.parse_body(b"", None) == {}
    with pytest.raises(ValidationError):
        forms.parse_body(b"[1]", "application/json")
    with pytest.raises(ValidationError):
        forms.parse_body(b"\xff=1", None)
