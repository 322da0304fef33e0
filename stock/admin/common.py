"""What the stock's admin pages of the catalog's products and variants share: the stock
permission, and the mixin that lets store staff open them to change stock without the
permission to edit the catalog."""

from typing import Any

from django.http import HttpRequest

# Defined on the catalog's variant (its Meta.permissions), as the API's stock scope checks it.
STOCK_PERMISSION = "catalog.change_stock"


class StockOrModelChange:
    """Staff with the stock permission (store staff) may open an existing variant, or a product
    with its variants, to change stock even without the permission to edit it; the page's
    model fields are then read-only (see each catalog admin's ``get_readonly_fields``)."""

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_change_permission(request, obj) or (  # type: ignore[misc]
            obj is not None and request.user.has_perm(STOCK_PERMISSION)
        )
