"""Server-owned fields cannot be set through the API.

Every write endpoint gets a body stuffed with what the server owns: ids (an existing object's,
to try to overwrite it), generated SKUs, quantities and stock flags, prices, totals and line
totals, order status, number and currency, owners (API key, user, actor), timestamps and the
ledger's fields. Each is refused by name (400) and changes nothing; the same body without them
then changes exactly what it is meant to, with the server's values. Each test compares every row
of the project's tables before and after.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.utils import timezone
from rest_framework.test import APIClient

from catalog.groups import STORE_STAFF_GROUP
from catalog.models import Product, Variant
from core.api.authentication import api_key_actor
from core.api.models import ApiKey, Scope
from core.api.services import api_key_create
from orders.models import Order, OrderReturn, OrderStatus
from orders.services import LineRequest, order_place, order_transition
from stock.models import MovementReason

pytestmark = pytest.mark.django_db

PRODUCTS = "/api/v1/products/"
VARIANTS = "/api/v1/variants/"
ORDERS = "/api/v1/orders/"

LONG_AGO = "2001-01-01T00:00:00Z"
FAR_AHEAD = "2099-01-01T00:00:00Z"


# Comparing the database before and after


@dataclass
class TableChanges:
    added: list[dict[str, Any]] = field(default_factory=list)
    removed: list[dict[str, Any]] = field(default_factory=list)
    changed: dict[int, dict[str, tuple[Any, Any]]] = field(default_factory=dict)


Rows = dict[str, dict[int, dict[str, Any]]]


def rows() -> Rows:
    """Every row of the project's own tables, by table and primary key."""
    models = [
        model
        for label in ("catalog", "stock", "orders", "api")
        for model in apps.get_app_config(label).get_models()
    ]
    return {
        model._meta.label: {row["id"]: row for row in model._default_manager.values()}
        for model in models
    }


def changes(before: Rows, after: Rows) -> dict[str, TableChanges]:
    """What changed, table by table; tables that did not change are left out."""
    result = {}
    for table in before:
        old, new = before[table], after[table]
        table_changes = TableChanges(
            added=[new[pk] for pk in sorted(new.keys() - old.keys())],
            removed=[old[pk] for pk in sorted(old.keys() - new.keys())],
            changed={
                pk: {
                    name: (old[pk][name], new[pk][name])
                    for name in old[pk]
                    if old[pk][name] != new[pk][name]
                }
                for pk in sorted(old.keys() & new.keys())
                if old[pk] != new[pk]
            },
        )
        if table_changes != TableChanges():
            result[table] = table_changes
    return result


def assert_recent(moment: Any) -> None:
    """A timestamp the server set just now, not one the client sent."""
    assert timezone.now() - timedelta(minutes=5) < moment <= timezone.now()


# The world


@dataclass
class World:
    product: Product
    other_product: Product
    small: Variant  # 10 units, minus the orders below
    other_small: Variant
    shop: ApiKey
    shop_raw: str
    other: ApiKey
    staff: User
    placed: Order  # the shop's
    fulfilled: Order  # the shop's
    others_order: Order


@pytest.fixture
def world(make_product: Callable[..., Product]) -> World:
    product = make_product(name="Tee", price="29.90", stock={"S-M": 10, "L-XL": 0})
    other_product = make_product(
        name="Sweater", category="Sweaters", price="80.00", stock={"S-M": 5}
    )
    shop, shop_raw = api_key_create(name="web-shop", scopes=Scope.values)
    other, _ = api_key_create(name="other-shop", scopes=[Scope.ORDERS_WRITE])
    staff = User.objects.create_user("clerk", password="pw", is_staff=True)
    staff.groups.add(Group.objects.get(name=STORE_STAFF_GROUP))
    small = product.variants.get(size="S-M")

    def place(api_key: ApiKey, quantity: int) -> Order:
        return order_place(
            lines=[LineRequest(variant_id=small.pk, quantity=quantity)],
            actor=api_key_actor(api_key),
        )

    placed = place(shop, 1)
    fulfilled = place(shop, 2)
    for action in ("pay", "fulfil"):
        order_transition(order_id=fulfilled.pk, action=action, actor=api_key_actor(shop))
    others_order = place(other, 1)
    return World(
        product=product,
        other_product=other_product,
        small=small,
        other_small=other_product.variants.get(size="S-M"),
        shop=shop,
        shop_raw=shop_raw,
        other=other,
        staff=staff,
        placed=placed,
        fulfilled=fulfilled,
        others_order=others_order,
    )


@pytest.fixture
def client(world: World) -> APIClient:
    """The web shop, whose key holds every scope: only the body can be at fault."""
    api_client = APIClient()
    api_client.credentials(HTTP_AUTHORIZATION=f"Api-Key {world.shop_raw}")
    return api_client


def server_owned_timestamps() -> dict[str, str]:
    return {"created_at": LONG_AGO, "updated_at": LONG_AGO}


def assert_refused(response: Any, before: Rows, details: dict[str, Any]) -> None:
    """A validation error naming exactly these fields, and not a row changed."""
    assert response.status_code == 400, response.json()
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert _shape(error["details"]) == _shape(details), error["details"]
    assert changes(before, rows()) == {}


def _shape(details: Any) -> Any:
    """The field names of an error's details (or of a stuffed body), nested as they are."""
    if isinstance(details, dict):
        return {name: _shape(value) for name, value in details.items()}
    if isinstance(details, list) and details and isinstance(details[0], dict):
        return [_shape(item) for item in details]
    return None


# Products


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
        "stock.StockMovement",
    }
    assert all(not (t.removed or t.changed) for t in diff.values()), diff
    [product] = diff["catalog.Product"].added
    [variant_row] = diff["catalog.Variant"].added
    [movement] = diff["stock.StockMovement"].added
    assert_recent(product["created_at"])
    assert (variant_row["product_id"], variant_row["quantity"], variant_row["in_stock"]) == (
        product["id"],
        2,
        True,
    )
    assert variant_row["sku"] == diff["catalog.IssuedSku"].added[0]["sku"]  # generated
    assert (movement["variant_id"], movement["delta"], movement["reason"]) == (
        variant_row["id"],
        2,
        MovementReason.INITIAL,
    )
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


# Variants


def test_creating_a_variant_sets_none_of_the_server_s_fields(world, client):
    body = {"product": world.other_product.pk, "size": "L-XL", "quantity": 3}
    stuffing = {"id": world.small.pk, **VARIANT_STUFFING}
    before = rows()

    assert_refused(client.post(VARIANTS, {**body, **stuffing}), before, stuffing)

    response = client.post(VARIANTS, body)
    assert response.status_code == 201, response.json()
    diff = changes(before, rows())
    assert set(diff) == {"catalog.Variant", "catalog.IssuedSku", "stock.StockMovement"}
    assert all(not (t.removed or t.changed) for t in diff.values()), diff
    [variant] = diff["catalog.Variant"].added
    [movement] = diff["stock.StockMovement"].added
    assert (variant["product_id"], variant["size"], variant["quantity"]) == (
        world.other_product.pk,
        "L-XL",
        3,
    )
    assert (variant["in_stock"], variant["low_stock"]) == (True, False)
    assert variant["sku"] == diff["catalog.IssuedSku"].added[0]["sku"]
    assert_recent(variant["created_at"])
    assert (movement["delta"], movement["quantity_after"], movement["reason"]) == (
        3,
        3,
        MovementReason.INITIAL,
    )
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
    assert_refused(response, before, {k: v for k, v in representation.items() if k not in writable})

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


# Stock


LEDGER_FIELDS = {
    "id": 1,
    "variant": "other",
    "product": "other",
    "sku": "OTHER",
    "quantity_after": 500,
    "actor": "the-boss",
    "actor_kind": "system",
    "user": "staff",
    "api_key": "other",
    "created_at": LONG_AGO,
}


def _ledger_fields(world: World) -> dict[str, Any]:
    replacements = {
        "variant": world.other_small.pk,
        "product": world.other_product.pk,
        "user": world.staff.pk,
        "api_key": world.other.pk,
    }
    return {name: replacements.get(name, value) for name, value in LEDGER_FIELDS.items()}


@pytest.mark.parametrize(
    ("action", "body", "delta", "reason"),
    [
        ("adjust", {"delta": 4, "reason": "received"}, 4, MovementReason.RECEIVED),
        ("count", {"quantity": 3}, 3 - 6, MovementReason.COUNT_CORRECTION),
    ],
)
def test_a_stock_change_writes_the_ledger_from_the_server_s_facts(
    world, client, action, body, delta, reason
):
    # Given 6 units: 10, less the three orders' 1 + 2 + 1
    world.small.refresh_from_db()
    start = world.small.quantity
    assert start == 6
    url = f"{VARIANTS}{world.small.pk}/{action}/"
    before = rows()

    stuffing = _ledger_fields(world)
    assert_refused(client.post(url, {**stuffing, **body}), before, stuffing)

    response = client.post(url, body)
    assert response.status_code == 201, response.json()
    diff = changes(before, rows())
    assert set(diff) == {"catalog.Variant", "stock.StockMovement"}
    assert list(diff["catalog.Variant"].changed) == [world.small.pk]
    assert diff["catalog.Variant"].changed[world.small.pk]["quantity"] == (start, start + delta)
    [movement] = diff["stock.StockMovement"].added
    assert {
        name: movement[name]
        for name in (
            "variant_id",
            "product_id",
            "delta",
            "quantity_after",
            "reason",
            "actor_kind",
            "actor",
            "user_id",
            "api_key_id",
        )
    } == {
        "variant_id": world.small.pk,
        "product_id": world.product.pk,
        "delta": delta,
        "quantity_after": start + delta,
        "reason": reason,
        "actor_kind": "api_key",
        "actor": "web-shop",
        "user_id": None,
        "api_key_id": world.shop.pk,
    }
    assert_recent(movement["created_at"])


@pytest.mark.parametrize(
    "reason",
    [
        MovementReason.INITIAL,
        MovementReason.SALE,
        MovementReason.ORDER_CANCELLED,
        MovementReason.COUNT_CORRECTION,
    ],
)
def test_the_server_s_own_ledger_reasons_cannot_be_claimed(world, client, reason):
    before = rows()

    response = client.post(f"{VARIANTS}{world.small.pk}/adjust/", {"delta": 1, "reason": reason})

    assert_refused(response, before, {"reason": None})


# Orders


def test_placing_an_order_takes_prices_totals_status_and_owner_from_the_server(world, client):
    line = world.placed.lines.get()
    clean_line = {"variant": world.small.pk, "quantity": 2}
    line_stuffing = {
        "id": line.pk,
        "order": world.others_order.pk,
        "unit_price": "0.01",
        "line_total": "0.02",
        "product_name": "Free Tee",
        "size": "L-XL",
        "returned_quantity": 2,
    }
    stuffing = {
        "id": world.others_order.pk,
        "number": world.others_order.number,
        "status": OrderStatus.FULFILLED,
        "currency": "USD",
        "total": "0.02",
        "api_key": world.other.pk,
        "user": world.staff.pk,
        "placed_by": "other-shop",
        "created_at": LONG_AGO,
        "updated_at": LONG_AGO,
        "paid_at": LONG_AGO,
        "fulfilled_at": LONG_AGO,
        "cancelled_at": FAR_AHEAD,
    }
    body = {"lines": [clean_line], "customer_reference": "web-9"}
    before = rows()

    response = client.post(ORDERS, {**body, **stuffing, "lines": [{**clean_line, **line_stuffing}]})
    assert_refused(response, before, {**stuffing, "lines": [line_stuffing]})

    response = client.post(ORDERS, body)
    assert response.status_code == 201, response.json()
    diff = changes(before, rows())
    assert set(diff) == {
        "orders.Order",
        "orders.OrderLine",
        "catalog.Variant",
        "stock.StockMovement",
    }
    assert not diff["orders.Order"].changed
    assert not diff["orders.OrderLine"].changed
    [order] = diff["orders.Order"].added
    [order_line] = diff["orders.OrderLine"].added
    assert {
        name: order[name]
        for name in (
            "status",
            "currency",
            "total",
            "api_key_id",
            "user_id",
            "placed_by",
            "paid_at",
            "fulfilled_at",
            "cancelled_at",
            "customer_reference",
        )
    } == {
        "status": OrderStatus.PLACED,
        "currency": settings.STORE_CURRENCY,
        "total": Decimal("59.80"),
        "api_key_id": world.shop.pk,
        "user_id": None,
        "placed_by": "web-shop",
        "paid_at": None,
        "fulfilled_at": None,
        "cancelled_at": None,
        "customer_reference": "web-9",
    }
    assert_recent(order["created_at"])
    assert {
        name: order_line[name]
        for name in (
            "order_id",
            "variant_id",
            "quantity",
            "unit_price",
            "line_total",
            "product_name",
            "size",
            "returned_quantity",
        )
    } == {
        "order_id": order["id"],
        "variant_id": world.small.pk,
        "quantity": 2,
        "unit_price": Decimal("29.90"),
        "line_total": Decimal("59.80"),
        "product_name": "Tee",
        "size": "S-M",
        "returned_quantity": 0,
    }


@pytest.mark.parametrize(
    ("action", "order_name", "status", "stamp"),
    [
        ("pay", "placed", OrderStatus.PAID, "paid_at"),
        ("cancel", "placed", OrderStatus.CANCELLED, "cancelled_at"),
    ],
)
def test_an_order_s_transition_takes_no_body(world, client, action, order_name, status, stamp):
    order = getattr(world, order_name)
    url = f"{ORDERS}{order.pk}/{action}/"
    stuffing = {
        "status": OrderStatus.FULFILLED,
        "number": "STOLEN",
        "total": "0.01",
        "currency": "USD",
        "api_key": world.other.pk,
        "paid_at": LONG_AGO,
        "fulfilled_at": LONG_AGO,
        "cancelled_at": LONG_AGO,
        "lines": [{"id": order.lines.get().pk, "quantity": 100, "unit_price": "0.01"}],
    }
    before = rows()

    assert_refused(client.post(url, stuffing), before, {**stuffing, "lines": None})

    response = client.post(url)
    assert response.status_code == 200, response.json()
    diff = changes(before, rows())
    assert not diff["orders.Order"].added
    assert list(diff["orders.Order"].changed) == [order.pk]
    changed = diff["orders.Order"].changed[order.pk]
    assert set(changed) == {"status", stamp, "updated_at"}
    assert changed["status"][1] == status
    assert_recent(changed[stamp][1])
    assert "orders.OrderLine" not in diff


def test_a_return_is_refunded_at_the_price_sold_whatever_the_body_says(world, client):
    line = world.fulfilled.lines.get()
    clean_line = {"line": line.pk, "quantity": 1}
    line_stuffing = {
        "refund_amount": "999.00",
        "sku": world.other_small.sku,
        "unit_price": "999.00",
    }
    stuffing = {
        "id": 1,
        "order": world.others_order.pk,
        "refund_total": "999.00",
        "currency": "USD",
        "recorded_by": "the-boss",
        "created_at": LONG_AGO,
    }
    body = {"lines": [clean_line], "note": "too small"}
    url = f"{ORDERS}{world.fulfilled.pk}/returns/"
    before = rows()

    response = client.post(url, {**body, **stuffing, "lines": [{**clean_line, **line_stuffing}]})
    assert_refused(response, before, {**stuffing, "lines": [line_stuffing]})

    response = client.post(url, body)
    assert response.status_code == 201, response.json()
    diff = changes(before, rows())
    assert set(diff) == {
        "orders.OrderReturn",
        "orders.OrderReturnLine",
        "orders.OrderLine",
        "catalog.Variant",
        "stock.StockMovement",
    }
    [order_return] = diff["orders.OrderReturn"].added
    [return_line] = diff["orders.OrderReturnLine"].added
    assert {
        name: order_return[name] for name in ("order_id", "refund_total", "note", "recorded_by")
    } == {
        "order_id": world.fulfilled.pk,
        "refund_total": Decimal("29.90"),
        "note": "too small",
        "recorded_by": "web-shop",
    }
    assert_recent(order_return["created_at"])
    assert (return_line["line_id"], return_line["quantity"], return_line["refund_amount"]) == (
        line.pk,
        1,
        Decimal("29.90"),
    )
    assert diff["orders.OrderLine"].changed == {line.pk: {"returned_quantity": (0, 1)}}
    assert list(diff["catalog.Variant"].changed) == [world.small.pk]
    [movement] = diff["stock.StockMovement"].added
    assert (movement["delta"], movement["reason"], movement["reference"]) == (
        1,
        MovementReason.RETURNED,
        world.fulfilled.number,
    )
    assert not OrderReturn.objects.filter(order=world.others_order).exists()
