"""What the tests of stock in the admin share: the pages' URLs, a product (Tee) and its S-M variant,
how to post a stock change from either door, and a snapshot of every quantity and movement."""

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.admin.models import LogEntry
from django.test import Client
from django.urls import reverse

from catalog.models import Product, Variant
from catalog.tests.support import STOCK_FIELDS, admin_url, product_form_data
from stock.models import StockMovement

VARIANTS = reverse("admin:catalog_variant_changelist")
VARIANT_ADD = reverse("admin:catalog_variant_add")
MOVEMENTS = reverse("admin:stock_stockmovement_changelist")

# The two places staff change stock: a variant's row on its product's page, and its own page.
DOORS = ["inline", "variant page"]


@pytest.fixture
def tee(make_product: Callable[..., Product]) -> Product:
    """A tee with 5 in S-M and none in L-XL; the only movement so far is the S-M's opening."""
    return make_product(name="Organic Cotton Tee", stock={"S-M": 5, "L-XL": 0})


@pytest.fixture
def small(tee: Product) -> Variant:
    return tee.variants.get(size="S-M")


def _variant_form(variant: Variant, **fields: str) -> dict[str, str]:
    """The variant's change form as the admin renders it, with ``fields`` typed in."""
    return {
        "size": variant.size,
        "sku": variant.sku,
        "barcode": variant.barcode or "",
        "quantity": str(variant.quantity),
        "low_stock_threshold": str(variant.low_stock_threshold),
        **dict.fromkeys(STOCK_FIELDS, ""),
        **fields,
    }


def _post_stock(client: Client, variant: Variant, door: str, **stock: str) -> Any:
    """Type ``stock`` into the variant's stock fields through ``door`` and save."""
    if door == "inline":
        return client.post(
            admin_url("change", variant.product),
            product_form_data(variant.product, rows={variant.size: stock}),
        )
    return client.post(admin_url("change", variant), _variant_form(variant, **stock))


def _movements(variant: Variant) -> list[tuple[Any, ...]]:
    """The variant's ledger, oldest first, as (reason, delta, quantity after, actor kind,
    actor, user id, note)."""
    return list(
        StockMovement.objects.filter(variant=variant)
        .order_by("id")
        .values_list("reason", "delta", "quantity_after", "actor_kind", "actor", "user", "note")
    )


def _everything() -> dict[str, list[tuple[Any, ...]]]:
    """All that a save could change, to show that a refused or rolled back one changed none."""
    return {
        "products": list(Product.objects.order_by("id").values_list("id", "name", "is_active")),
        "variants": list(
            Variant.objects.order_by("id").values_list(
                "id", "quantity", "barcode", "low_stock_threshold"
            )
        ),
        "movements": list(StockMovement.objects.order_by("id").values_list("id", "delta")),
        "log": list(LogEntry.objects.values_list("id")),
    }
