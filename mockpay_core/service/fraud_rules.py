"""Fraud rules as data: create, edit, toggle, delete; the original's two by default."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pydantic

from mockpay_core.domain.fraud import DEFAULT_RULES, FraudRule, RuleSpec
from mockpay_core.errors import NotFound, ValidationError
from mockpay_core.service.context import Context

DEFAULTS_SEEDED_KEY = "default_fraud_rules_seeded"


def parse_spec(data: object) -> RuleSpec:
    """A ``RuleSpec`` from user data; every problem becomes one field of a ValidationError."""
    if isinstance(data, RuleSpec):
        return data
    try:
        return RuleSpec.model_validate(data)
    except pydantic.ValidationError as exc:
        errors = [
            (".".join(str(p) for p in e["loc"]) or "rule", e["msg"].removeprefix("Value error, "))
            for e in exc.errors()
        ]
        raise ValidationError(errors) from None


def create(ctx: Context, spec: object, tenant_id: str | None = None) -> FraudRule:
    """A new rule for every tenant, or only for ``tenant_id``."""
    clean = parse_spec(spec)
    now = ctx.clock.now()
    rule = FraudRule(ctx.ids.uuid(), clean, now, now)
    with ctx.store.unit_of_work() as uow:
        uow.insert_rule(rule, tenant_id)
    return rule


def update(ctx: Context, rule_id: str, changes: dict[str, Any]) -> FraudRule:
    """Edit some fields of a rule; the result is validated as a whole."""
    if not isinstance(changes, dict):
        raise ValidationError("must be an object", "rule")
    return _edit(ctx, rule_id, lambda spec: changes)


def set_active(ctx: Context, rule_id: str, active: bool | None = None) -> FraudRule:
    """Enable or disable a rule; ``None`` toggles it (the original's PATCH)."""
    return _edit(
        ctx, rule_id, lambda spec: {"is_active": not spec.is_active if active is None else active}
    )


def _edit(
    ctx: Context, rule_id: str, changes_for: Callable[[RuleSpec], dict[str, Any]]
) -> FraudRule:
    now = ctx.clock.now()
    with ctx.store.unit_of_work() as uow:
        rule = uow.get_rule(rule_id)
        if rule is None:
            raise NotFound("fraud rule", rule_id)
        spec = parse_spec({**rule.spec.model_dump(), **changes_for(rule.spec)})
        uow.update_rule(rule_id, spec, now)
    return FraudRule(rule_id, spec, rule.created_at, now)


def delete(ctx: Context, rule_id: str) -> None:
    with ctx.store.unit_of_work() as uow:
        if not uow.delete_rule(rule_id):
            raise NotFound("fraud rule", rule_id)


def seed_defaults(ctx: Context) -> None:
    """Install the original's default rules once per database (deleting them sticks)."""
    now = ctx.clock.now()
    with ctx.store.unit_of_work() as uow:
        if uow.get_meta(DEFAULTS_SEEDED_KEY) is not None:
            return
        for spec in DEFAULT_RULES:
            uow.insert_rule(FraudRule(ctx.ids.uuid(), spec, now, now), None)
        uow.set_meta(DEFAULTS_SEEDED_KEY, now.isoformat())
