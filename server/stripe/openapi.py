"""OpenAPI for /v1: the form body each route reads (it reads it itself, in Stripe's
bracket encoding, so FastAPI cannot infer it)."""

from __future__ import annotations

from typing import Any, Final

_OBJECT: Final = {"type": "object", "additionalProperties": {"type": "string"}}
_KINDS: Final[dict[str, dict[str, Any]]] = {
    "amount": {"type": "integer", "minimum": 1},
    "amount_to_capture": {"type": "integer", "minimum": 1},
    "currency": {"type": "string"},
    "capture_method": {"type": "string", "enum": ["automatic", "manual"]},
    "confirm": {"type": "boolean"},
    "metadata": _OBJECT,
    "expand": {"type": "array", "items": {"type": "string"}},
    "cancellation_reason": {
        "type": "string", "enum": ["duplicate", "fraudulent", "requested_by_customer", "abandoned"],
    },
    "reason": {"type": "string", "enum": ["duplicate", "fraudulent", "requested_by_customer"]},
    "enabled_events": {"type": "array", "items": {"type": "string"}, "minItems": 1},
    "disabled": {"type": "boolean"},
}  # fmt: skip


def form(*names: str, required: tuple[str, ...] = ()) -> dict[str, Any]:
    """``openapi_extra`` for a route whose form body has the fields ``names``."""
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {n: _KINDS.get(n, {"type": "string"}) for n in names},
    }
    if required:
        schema["required"] = list(required)
    return {
        "requestBody": {
            "required": bool(required),
            "content": {"application/x-www-form-urlencoded": {"schema": schema}},
        }
    }


_QUERY_KINDS: Final[dict[str, dict[str, Any]]] = {
    "limit": {"type": "integer", "minimum": 1, "maximum": 100},
    "created": {"type": "integer"},
}
PAGING: Final = ("limit", "starting_after", "ending_before", "created")


def query(*names: str) -> dict[str, Any]:
    """``openapi_extra`` for a list route that reads the query parameters ``names`` (the
    paging ones and its filters; ``created[gte]``-style and ``expand[]`` are read too,
    not declared)."""
    kinds = {n: _QUERY_KINDS.get(n, {"type": "string"}) for n in names}
    return {
        "parameters": [
            {"name": n, "in": "query", "required": False, "schema": kind}
            for n, kind in kinds.items()
        ]
    }
