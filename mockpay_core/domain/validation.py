"""Input validation for everything a client sends the engine; each failure names its field."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final
from urllib.parse import urlsplit

from mockpay_core.errors import ValidationError

IDEMPOTENCY_KEY_LEN_MAX: Final = 255
NAME_LEN_MAX: Final = 255
EMAIL_LEN_MAX: Final = 254
URL_LEN_MAX: Final = 2048
CUSTOMER_LEN_MAX: Final = 255
DESCRIPTION_LEN_MAX: Final = 1000
REASON_LEN_MAX: Final = 255
METADATA_KEYS_MAX: Final = 50
METADATA_KEY_LEN_MAX: Final = 40
METADATA_VALUE_LEN_MAX: Final = 500

_PRINTABLE_ASCII = re.compile(r"[\x20-\x7e]+")  # no control characters, no non-ASCII
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def _text(value: object, field: str, len_max: int, *, required: bool = True) -> str | None:
    if value is None and not required:
        return None
    if not isinstance(value, str):
        raise ValidationError("is required" if value is None else "must be a string", field)
    text = value.strip()
    if not text:
        raise ValidationError("must not be empty", field)
    if len(text) > len_max:
        raise ValidationError(f"must be at most {len_max} characters", field)
    return text


def name(value: object) -> str:
    return _text(value, "name", NAME_LEN_MAX)  # type: ignore[return-value]


def email(value: object) -> str:
    text = _text(value, "email", EMAIL_LEN_MAX)
    assert text is not None
    if not _EMAIL.fullmatch(text):
        raise ValidationError("must be an email address", "email")
    return text


def optional_text(value: object, field: str, len_max: int) -> str | None:
    return _text(value, field, len_max, required=False)


def idempotency_key(value: object, *, required: bool) -> str | None:
    field = "idempotency_key"
    if value is None:
        if required:
            raise ValidationError("is required", field)
        return None
    if not isinstance(value, str) or not value:
        raise ValidationError("must be a non-empty string", field)
    if len(value) > IDEMPOTENCY_KEY_LEN_MAX:
        raise ValidationError(f"must be at most {IDEMPOTENCY_KEY_LEN_MAX} characters", field)
    if not _PRINTABLE_ASCII.fullmatch(value):
        raise ValidationError("must be printable ASCII", field)
    return value


def webhook_url(value: object) -> str:
    """An absolute http(s) URL with a host. Address checks (SSRF) happen at delivery too."""
    field = "webhook_url"
    text = _text(value, field, URL_LEN_MAX)
    assert text is not None
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise ValidationError("must be a valid URL", field) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError("must be an http:// or https:// URL", field)
    if parts.username or parts.password:
        raise ValidationError("must not carry credentials", field)
    return text


def metadata(value: object) -> dict[str, str]:
    field = "metadata"
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValidationError("must be an object of string values", field)
    if len(value) > METADATA_KEYS_MAX:
        raise ValidationError(f"must have at most {METADATA_KEYS_MAX} keys", field)
    out: dict[str, str] = {}
    for key, item in value.items():
        if not isinstance(key, str) or not 0 < len(key) <= METADATA_KEY_LEN_MAX:
            raise ValidationError(f"keys are strings of 1-{METADATA_KEY_LEN_MAX} characters", field)
        if not isinstance(item, str) or len(item) > METADATA_VALUE_LEN_MAX:
            raise ValidationError(
                f"values are strings of at most {METADATA_VALUE_LEN_MAX} characters",
                f"{field}.{key}",
            )
        out[key] = item
    return out


def choice(value: object, field: str, options: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in options:
        raise ValidationError(f"must be one of {', '.join(options)}", field)
    return value


def collect(*checks: Any) -> list[Any]:
    """Run every zero-argument check; raise one ``ValidationError`` naming every bad field."""
    values, errors = [], []
    for check in checks:
        try:
            values.append(check())
        except ValidationError as exc:
            errors.extend(exc.errors)
            values.append(None)
    if errors:
        raise ValidationError(errors)
    return values
