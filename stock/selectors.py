"""Reads of the stock: the ledger, low stock and the ledger's invariant. Each selector owns the
joins its callers need."""

from django.db.models import F, OuterRef, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce

from catalog.models import Variant
from catalog.selectors import variant_list
from stock.models import StockMovement


def stock_movement_list() -> QuerySet[StockMovement]:
    """The ledger, newest first, with each movement's variant (for its SKU)."""
    return StockMovement.objects.select_related("variant").order_by("-id")


def low_stock_variants() -> QuerySet[Variant]:
    """Variants of active products at or below their low-stock threshold, emptiest first."""
    return (
        variant_list()
        .filter(low_stock=True, product__is_active=True)
        .order_by("quantity", "product__name", "id")
    )


def stock_drift() -> QuerySet[Variant]:
    """Variants whose quantity is not the sum of their movements: the ledger's invariant
    broken (by a write that went around the stock service). Should always be empty."""
    ledger = (
        StockMovement.objects.filter(variant=OuterRef("pk"))
        .order_by()
        .values("variant")
        .annotate(total=Sum("delta"))
        .values("total")
    )
    return (
        Variant.objects.annotate(ledger_total=Coalesce(Subquery(ledger), 0))
        .exclude(quantity=F("ledger_total"))
        .select_related("product")
        .order_by("id")
    )
