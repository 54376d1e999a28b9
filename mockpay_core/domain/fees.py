"""Fees: what the gateway charges a tenant, per currency, in integer minor units.

A capture pays ``rate_bp`` basis points of the captured amount plus ``fixed_minor``
(default 2.9 % + 30, Stripe's card price). The percentage is rounded half up to a whole
minor unit (``ROUND_HALF_UP`` on the exact product: 1.5 minor units is 2, 1.49 is 1), then
the fixed part is added; a fee never exceeds the amount it is charged on, so a capture's
net is never negative. Opening a dispute costs ``dispute_fee_minor``. Refunds keep the fee
unless ``refund_returns_fee``; then each refund returns its share of the capture's fee,
floored, so that the refunds of a whole payment return exactly the whole fee.
"""

from __future__ import annotations

from typing import Annotated, Final

from pydantic import BaseModel, ConfigDict, Field

BASIS_POINTS: Final = 10_000
RATE_BP_MAX: Final = 5_000  # 50 %
FIXED_MINOR_MAX: Final = 1_000_000


class FeeSchedule(BaseModel):
    """A tenant's prices in one currency (``DEFAULT`` unless the admin set others)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rate_bp: Annotated[int, Field(ge=0, le=RATE_BP_MAX)] = 290
    fixed_minor: Annotated[int, Field(ge=0, le=FIXED_MINOR_MAX)] = 30
    dispute_fee_minor: Annotated[int, Field(ge=0, le=FIXED_MINOR_MAX)] = 1500
    refund_returns_fee: bool = False

    def fee_minor(self, amount_minor: int) -> int:
        """The fee on capturing ``amount_minor``: rate rounded half up, plus fixed, capped."""
        if amount_minor <= 0:
            return 0
        percent = (amount_minor * self.rate_bp * 2 + BASIS_POINTS) // (2 * BASIS_POINTS)
        return min(amount_minor, percent + self.fixed_minor)


DEFAULT: Final = FeeSchedule()


def returned_fee_minor(
    fee_minor: int, captured_minor: int, refunded_before_minor: int, refunded_after_minor: int
) -> int:
    """A refund's share of its capture's fee: the floored share of everything refunded
    after it, minus that of everything refunded before it."""
    if captured_minor <= 0:
        return 0

    def share(refunded: int) -> int:
        return fee_minor * min(refunded, captured_minor) // captured_minor

    return share(refunded_after_minor) - share(refunded_before_minor)
