"""The orders' API: placing orders, their lifecycle, returns, idempotency, access and reads."""
