"""The stock's admin: the locations, the ledger of every stock movement (read-only), the
transfers between locations, count sessions, and the catalog's product and variant admins
registered again with their stock (a variant's levels, stock changes and counts, deliveries, the
CSV import and export).

One module per subject; importing them registers the admins."""

from stock.admin import counts, locations, movements, products, transfers, variants

__all__ = ["counts", "locations", "movements", "products", "transfers", "variants"]
