"""What the tests of stock at several locations share: the locations (the default MAIN, a shop,
the web shop's stock, an archived shop) and a snapshot of every level, every variant's totals
and the ledger, to prove what a change did and that a refusal did nothing anywhere."""

from typing import Any

import pytest

from catalog.models import Variant
from orders.models import Order
from stock.models import Location, LocationKind, StockLevel, StockMovement
from stock.selectors import location_default


@pytest.fixture
def main(db: None) -> Location:
    """The default location, where changes and orders that name none happen."""
    return location_default()


@pytest.fixture
def store(db: None) -> Location:
    return Location.objects.create(code="STORE-01", name="Shop in town", kind=LocationKind.STORE)


@pytest.fixture
def online(db: None) -> Location:
    return Location.objects.create(code="WEB", name="Web shop stock", kind=LocationKind.ONLINE)


@pytest.fixture
def archived(db: None) -> Location:
    return Location.objects.create(
        code="STORE-02", name="Closed shop", kind=LocationKind.STORE, is_active=False
    )


def levels() -> dict[tuple[str, str], tuple[int, int]]:
    """(on hand, committed) by (SKU, location code), for every level."""
    return {
        (sku, code): (on_hand, committed)
        for sku, code, on_hand, committed in StockLevel.objects.values_list(
            "variant__sku", "location__code", "on_hand", "committed"
        )
    }


def totals(*variants: Variant) -> dict[str, tuple[int, int]]:
    """(quantity, that is available, and committed) of each variant, over every location."""
    return {
        sku: (quantity, committed)
        for sku, quantity, committed in Variant.objects.filter(
            pk__in=[variant.pk for variant in variants]
        ).values_list("sku", "quantity", "committed")
    }


def movements(after: int = 0) -> list[tuple[Any, ...]]:
    """(SKU, reason, delta, committed_delta, quantity_after, committed_after, location code,
    reference) of every movement after the one with id ``after``, oldest first."""
    return list(
        StockMovement.objects.filter(pk__gt=after)
        .order_by("id")
        .values_list(
            "variant__sku",
            "reason",
            "delta",
            "committed_delta",
            "quantity_after",
            "committed_after",
            "location__code",
            "reference",
        )
    )


def last_movement_id() -> int:
    return StockMovement.objects.order_by("-id").values_list("id", flat=True).first() or 0


def everything() -> dict[str, Any]:
    """Every level, every variant's totals, the ledger and the orders: what a refusal leaves."""
    return {
        "levels": levels(),
        "variants": sorted(Variant.objects.values_list("sku", "quantity", "committed")),
        "movements": movements(),
        "orders": sorted(Order.objects.values_list("number", "status")),
    }
