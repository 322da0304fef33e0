"""The catalog's admin fixtures, for the ledger's admin tests: a product (Tee) and its S-M
variant."""

from catalog.tests.admin_stock_support import small, tee

__all__ = ["small", "tee"]
