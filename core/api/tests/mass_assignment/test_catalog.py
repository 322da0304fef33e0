"""Products and variants: what the server owns (ids, SKUs, stock, currency, timestamps) is
refused by name and changes nothing."""

from decimal import Decimal

import pytest
from django.conf import settings

from core.api.tests.mass_assignment.support import (
    VARIANTS,
    assert_recent,
    assert_refused,
    changes,
    rows,
    server_owned_timestamps,
)
from stock.models import MovementReason
from stock.selectors import location_default

pytestmark = pytest.mark.django_db

PRODUCTS = "/api/v1/products/"
PRODUCT_STUFFING = {"currency": "USD", **server_owned_timestamps()}
VARIANT_STUFFING = {
    "product_name": "Other",
    "in_stock": False,
    "low_stock": True,
    **server_owned_timestamps(),
}


def test_creating_a_product_sets_none_of_the_server_s_fields(world, client):
    # Given a body that names an existing product and variant, and the server's fields
    variant = {"size": "S-M", "quantity": 2}  # the opening quantity: a client's to give, once
    body = {
        "category": "Tees",
        "name": "Linen Tee",
        "color": "Sand",
        "price": "35.00",
        "collection": "SS25",
        "variants": [variant],
    }
    stuffed_variant = {
        **variant,
        "id": world.small.pk,
        "product": world.other_product.pk,
        **VARIANT_STUFFING,
    }
    stuffing = {"id": world.product.pk, **PRODUCT_STUFFING}

    # When it is posted, it is refused by name
    before = rows()
    response = client.post(PRODUCTS, {**body, **stuffing, "variants": [stuffed_variant]})
    assert_refused(
        response,
        before,
        {
            **stuffing,
            "variants": [{k: v for k, v in stuffed_variant.items() if k not in variant}],
        },
    )

    # And without them, a new product and a new variant are made, with the server's values
    response = client.post(PRODUCTS, body)
    assert response.status_code == 201, response.json()
    diff = changes(before, rows())
    assert set(diff) == {
        "catalog.Product",
        "catalog.Variant",
        "catalog.IssuedSku",
        "stock.StockLevel",
        "stock.StockMovement",
    }
    assert all(not (t.removed or t.changed) for t in diff.values()), diff
    [product] = diff["catalog.Product"].added
    [variant_row] = diff["catalog.Variant"].added
    [level] = diff["stock.StockLevel"].added
    [movement] = diff["stock.StockMovement"].added
    main = location_default().pk
    assert (level["variant_id"], level["location_id"], level["on_hand"], level["committed"]) == (
        variant_row["id"],
        main,
        2,
        0,
    )
    assert_recent(product["created_at"])
    assert (variant_row["product_id"], variant_row["quantity"], variant_row["in_stock"]) == (
        product["id"],
        2,
        True,
    )
    assert variant_row["sku"] == diff["catalog.IssuedSku"].added[0]["sku"]  # generated
    assert (
        movement["variant_id"],
        movement["location_id"],
        movement["delta"],
        movement["committed_delta"],
        movement["reason"],
    ) == (variant_row["id"], main, 2, 0, MovementReason.INITIAL)
    assert response.json()["currency"] == settings.STORE_CURRENCY


@pytest.mark.parametrize("method", ["put", "patch"])
def test_changing_a_product_sets_only_its_own_fields(world, client, method):
    body = {
        "category": "Tees",
        "name": "Tee",
        "color": "Black",
        "price": "31.00",
        "collection": "FW24",
    }
    stuffing = {"id": world.other_product.pk, **PRODUCT_STUFFING}
    url = f"{PRODUCTS}{world.product.pk}/"
    before = rows()

    assert_refused(getattr(client, method)(url, {**body, **stuffing}), before, stuffing)

    response = getattr(client, method)(url, body)
    assert response.status_code == 200, response.json()
    diff = changes(before, rows())
    assert set(diff) == {"catalog.Product"}
    assert list(diff["catalog.Product"].changed) == [world.product.pk]
    changed = diff["catalog.Product"].changed[world.product.pk]
    assert set(changed) == {"price", "updated_at"}
    assert changed["price"][1] == Decimal("31.00")
    assert_recent(changed["updated_at"][1])
    assert response.json()["currency"] == settings.STORE_CURRENCY


@pytest.mark.parametrize("method", ["put", "patch"])
def test_a_product_s_variants_and_their_stock_cannot_be_changed_through_the_product(
    world, client, method
):
    before = rows()
    body = {
        "category": "Tees",
        "name": "Tee",
        "color": "Black",
        "price": "29.90",
        "collection": "FW24",
        "variants": [{"id": world.small.pk, "size": "S-M", "quantity": 500}],
    }

    response = getattr(client, method)(f"{PRODUCTS}{world.product.pk}/", body)

    assert_refused(response, before, {"variants": None})


def test_creating_a_variant_sets_none_of_the_server_s_fields(world, client):
    body = {"product": world.other_product.pk, "size": "L-XL", "quantity": 3}
    stuffing = {"id": world.small.pk, **VARIANT_STUFFING}
    before = rows()

    assert_refused(client.post(VARIANTS, {**body, **stuffing}), before, stuffing)

    response = client.post(VARIANTS, body)
    assert response.status_code == 201, response.json()
    diff = changes(before, rows())
    assert set(diff) == {
        "catalog.Variant",
        "catalog.IssuedSku",
        "stock.StockLevel",
        "stock.StockMovement",
    }
    assert all(not (t.removed or t.changed) for t in diff.values()), diff
    [variant] = diff["catalog.Variant"].added
    [level] = diff["stock.StockLevel"].added
    [movement] = diff["stock.StockMovement"].added
    main = location_default().pk
    assert (level["variant_id"], level["location_id"], level["on_hand"], level["committed"]) == (
        variant["id"],
        main,
        3,
        0,
    )
    assert (variant["product_id"], variant["size"], variant["quantity"]) == (
        world.other_product.pk,
        "L-XL",
        3,
    )
    assert (variant["in_stock"], variant["low_stock"]) == (True, False)
    assert variant["sku"] == diff["catalog.IssuedSku"].added[0]["sku"]
    assert_recent(variant["created_at"])
    assert (
        movement["location_id"],
        movement["delta"],
        movement["quantity_after"],
        movement["committed_after"],
        movement["reason"],
    ) == (main, 3, 3, 0, MovementReason.INITIAL)
    assert (movement["actor"], movement["api_key_id"]) == ("web-shop", world.shop.pk)


@pytest.mark.parametrize("method", ["put", "patch"])
def test_a_variant_read_and_sent_back_names_every_field_it_cannot_set(world, client, method):
    """What a client read is not what it may write: each read-only field is named, and only
    the barcode and the low-stock threshold change."""
    world.small.refresh_from_db()
    url = f"{VARIANTS}{world.small.pk}/"
    representation = client.get(url).json()
    before = rows()

    response = getattr(client, method)(url, {**representation, "low_stock_threshold": 9})
    writable = {"barcode", "low_stock_threshold"}
    # The levels are refused as a whole, with where stock changes are made.
    refused = {k: v for k, v in representation.items() if k not in writable} | {"levels": None}
    assert_refused(response, before, refused)

    response = getattr(client, method)(url, {"barcode": None, "low_stock_threshold": 9})
    assert response.status_code == 200, response.json()
    diff = changes(before, rows())
    assert set(diff) == {"catalog.Variant"}
    changed = diff["catalog.Variant"].changed
    assert list(changed) == [world.small.pk]
    # low_stock is derived from the threshold the client may set: 6 units left, threshold 9
    assert set(changed[world.small.pk]) == {"low_stock_threshold", "low_stock", "updated_at"}
    assert changed[world.small.pk]["low_stock"] == (False, True)
    assert_recent(changed[world.small.pk]["updated_at"][1])


@pytest.mark.parametrize(
    ("field_name", "value"),
    [
        ("quantity", 500),
        ("quantity", 0),
        ("sku", "STOLEN-SKU-1"),
        ("size", "L-XL"),
        ("product", "other"),
    ],
)
@pytest.mark.parametrize("method", ["put", "patch"])
def test_a_variant_s_quantity_sku_size_and_product_are_refused_after_creation(
    world, client, field_name, value, method
):
    before = rows()
    value = world.other_product.pk if value == "other" else value
    body = {field_name: value, "low_stock_threshold": 4}

    response = getattr(client, method)(f"{VARIANTS}{world.small.pk}/", body)

    assert_refused(response, before, {field_name: None})
