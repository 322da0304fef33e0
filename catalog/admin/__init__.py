"""The admin for store staff. It saves through the same services as the API, so the same rules
hold: stock changes only through the ledger (with the staff user as actor), SKUs never change
nor come back, and nothing with stock or history is deleted. The ledger's own admin, read-only,
is in stock/admin.py.

One module per subject; importing them registers the admins."""

from catalog.admin import products, variants

__all__ = ["products", "variants"]
