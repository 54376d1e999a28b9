"""Stripe's wire format for parameters: ``application/x-www-form-urlencoded`` bodies and
query strings with bracket nesting.

``metadata[order]=42`` is ``{"metadata": {"order": "42"}}``; ``expand[]=a&expand[]=b`` and
``expand[0]=a&expand[1]=b`` (what stripe-python sends) are both ``{"expand": ["a", "b"]}``;
``items[0][price]=p`` is ``{"items": [{"price": "p"}]}``. Values stay strings: each route
reads the types it expects (``integer``, ``boolean``). A JSON body is read as it is.
"""

from __future__ import annotations

import json
import re
from typing import Any, Final
from urllib.parse import parse_qsl

from mockpay_core.errors import ValidationError

DEPTH_MAX: Final = 5
PAIRS_MAX: Final = 1000
INDEX_MAX: Final = 1000
_KEY: Final = re.compile(r"([^\[\]]+)((?:\[[^\[\]]*\])*)")
_PART: Final = re.compile(r"\[([^\[\]]*)\]")


def parse(text: str) -> dict[str, Any]:
    """The nested parameters of a form body or query string; 400 on a malformed key."""
    try:
        pairs = parse_qsl(text, keep_blank_values=True, max_num_fields=PAIRS_MAX)
    except ValueError:
        raise ValidationError(f"At most {PAIRS_MAX} parameters", "body") from None
    root: dict[str, Any] = {}
    for key, value in pairs:
        _put(root, _path(key), value)
    found = _listify(root)
    if not isinstance(found, dict):  # top-level keys are names, never all indices
        raise ValidationError("Parameter names must not be list indices", "body")
    return found


def parse_body(raw: bytes, content_type: str | None) -> dict[str, Any]:
    """A request body: JSON when it says so, else Stripe's form encoding."""
    if not raw:
        return {}
    if content_type and content_type.split(";")[0].strip().lower() == "application/json":
        try:
            found = json.loads(raw)
        except ValueError:
            raise ValidationError("Invalid JSON body", "body") from None
        if not isinstance(found, dict):
            raise ValidationError("The body must be an object", "body")
        return found
    try:
        return parse(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ValidationError("The form body is not UTF-8", "body") from None


def _path(key: str) -> list[str]:
    match = _KEY.fullmatch(key)
    if match is None:
        raise ValidationError(f"Invalid parameter name {key!r}", key)
    parts = [match.group(1), *_PART.findall(match.group(2))]
    if len(parts) > DEPTH_MAX:
        raise ValidationError(f"Parameters nest at most {DEPTH_MAX} deep", key)
    return parts


def _put(node: dict[str, Any], path: list[str], value: str) -> None:
    *parents, last = path
    for i, part in enumerate(parents):
        child = node.setdefault(_slot(node, part), {})
        if not isinstance(child, dict):
            raise ValidationError(
                "A parameter is both a value and an object", "".join(path[: i + 1])
            )
        node = child
    slot = _slot(node, last)
    if isinstance(node.get(slot), dict):
        raise ValidationError("A parameter is both a value and an object", path[0])
    node[slot] = value


def _slot(node: dict[str, Any], part: str) -> str:
    """``[]`` appends: the next free index of the node, as a list item's key."""
    if part != "":
        return part
    return str(sum(1 for k in node if k.isdigit()))


def _listify(node: dict[str, Any]) -> Any:
    """Objects whose keys are all indices become lists, in index order."""
    for key, value in node.items():
        if isinstance(value, dict):
            node[key] = _listify(value)
    if node and all(k.isdigit() for k in node):
        indices = sorted(node, key=int)
        if int(indices[-1]) > INDEX_MAX:
            raise ValidationError(f"List indices go up to {INDEX_MAX}", indices[-1])
        return [node[k] for k in indices]
    return node
