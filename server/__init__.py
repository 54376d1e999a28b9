"""The REST server: MockPay's API over the engine, a drop-in for the original's clients."""

from server.app import create_app

__all__ = ["create_app"]
