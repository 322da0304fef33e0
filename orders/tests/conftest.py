"""Fixtures of the orders' tests: the locations orders are placed at (the default MAIN, a shop,
the web shop's stock, an archived shop)."""

from stock.tests.location_support import archived, main, online, store

__all__ = ["archived", "main", "online", "store"]
