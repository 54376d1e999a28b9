"""Webhook delivery: the dispatcher, its guarded HTTP transport, simulated receivers."""

from mockpay_core.config import DeliveryConfig
from mockpay_core.delivery.dispatcher import Dispatcher

__all__ = ["DeliveryConfig", "Dispatcher"]
