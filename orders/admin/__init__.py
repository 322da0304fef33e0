"""Orders in the admin: read-only money and lines; status changes and returns only through the
same services as the API (so a cancel or a return here restocks through the ledger).

Cancelling asks first, as deleting does: a page lists the orders and what goes back on the
shelf. Returns are recorded on their own page of a fulfilled order, a quantity per line.

``order`` holds the order's admin, its actions and its cancel and return pages; ``forms`` the
return form; ``inlines`` the read-only parts of an order; ``order_return`` the returns' own
pages. Importing them here registers the admins when Django discovers ``orders.admin``."""

from orders.admin.order import OrderAdmin
from orders.admin.order_return import OrderReturnAdmin

__all__ = ["OrderAdmin", "OrderReturnAdmin"]
