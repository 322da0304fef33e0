"""Fixtures of the catalog's admin tests that more than one of its test modules use (the stock
app's ledger admin tests use them too, see stock/tests/conftest.py)."""

from catalog.tests.admin_stock_support import small, tee

__all__ = ["small", "tee"]
