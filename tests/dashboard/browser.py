"""What the browser tests stand on: Debian's Chromium found (or a reason to skip), and a
server that delivers webhooks on a fast retry schedule."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

from mockpay_core import Engine
from mockpay_core.config import DeliveryConfig, EngineConfig
from mockpay_core.domain.retry import RetrySchedule
from mockpay_core.storage.open import open_store
from server import create_app
from server.settings import Settings
from server.testing import free_port
from tests.server.conftest import ADMIN, Live, serve

BROWSERS = ("chromium", "chromium-browser", "google-chrome")
# Three attempts a second apart: a receiver that fails twice is answered on the third.
FAST = DeliveryConfig(schedule=RetrySchedule(delays_s=(0, 1, 1), jitter=0), timeout_s=2)


def chromium() -> tuple[str | None, str]:
    """(the browser's path, or None and why not)."""
    named = os.environ.get("MOCKPAY_CHROMIUM")
    if named:
        return (
            (named, "") if Path(named).exists() else (None, f"MOCKPAY_CHROMIUM={named} is missing")
        )
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found, ""
    return None, "no Chromium on PATH (apt-get install chromium, or set MOCKPAY_CHROMIUM)"


def delivering_server(db: Path) -> Iterator[Live]:
    """The server ``mockpay serve`` runs (system clock, webhooks delivered in-process),
    on a fast retry schedule."""
    settings = Settings(db=str(db), port=free_port(), admin_token=ADMIN, default_fraud_rules=False)
    engine = Engine(
        open_store(settings.db), config=EngineConfig(delivery=FAST, seed_default_fraud_rules=False)
    )
    yield from serve(settings, create_app(settings, engine=engine))
