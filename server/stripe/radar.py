"""``pm_card_radarBlock`` through our fraud engine: a blocklist rule (for every tenant)
on a customer value that only that test card sets, created the first time it is used. The
payment is then failed by fraud (``fraud_blocked``), with its fraud decision recorded, as
any blocked payment is."""

from __future__ import annotations

from typing import Final

from fastapi import Request

from mockpay_core import Engine
from mockpay_core.domain.fraud import RuleAction, RuleSpec, RuleType, Scope
from server.calls import EngineCalls

CUSTOMER: Final = "mockpay_stripe:pm_card_radarBlock"
RULE: Final = RuleSpec(
    name="Stripe test card pm_card_radarBlock",
    rule_type=RuleType.BLOCKLIST,
    action=RuleAction.BLOCK,
    scope=Scope.CUSTOMER,
    values=(CUSTOMER,),
)


async def ensure_rule(request: Request) -> None:
    """The rule exists (once per app: later calls cost nothing)."""
    state = request.app.state
    if getattr(state, "stripe_radar_rule", False):
        return
    c: EngineCalls = state.calls

    def create(e: Engine) -> None:
        if not any(r.spec.name == RULE.name for r in e.list_fraud_rules()):
            e.create_fraud_rule(RULE.model_dump(mode="json"))

    await c.write(create, None)
    state.stripe_radar_rule = True
