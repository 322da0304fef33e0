"""The admin for store staff. It saves through the same services as the API, so the same rules
hold: SKUs never change nor come back, and nothing with stock or history is deleted. A
variant's stock changes only through the ledger (with the staff user as actor), on the pages
the stock app's admin registers over these (stock/admin/), with the ledger's own admin.

One module per subject; importing them registers the admins."""

from catalog.admin import products, variants

__all__ = ["products", "variants"]
