"""Orders: prices, totals, status, number, currency and owner come from the server; a
transition takes no body; a return is refunded at the price sold."""

from decimal import Decimal

import pytest
from django.conf import settings

from core.api.tests.mass_assignment.support import (
    LONG_AGO,
    assert_recent,
    assert_refused,
    changes,
    rows,
)
from orders.models import OrderReturn, OrderStatus
from stock.models import MovementReason
from stock.selectors import location_default

pytestmark = pytest.mark.django_db

ORDERS = "/api/v1/orders/"
FAR_AHEAD = "2099-01-01T00:00:00Z"


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
        "stock.StockLevel",
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
            "location_id",
        )
    } == {
        "location_id": location_default().pk,
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
    # The two units are committed at the default location, where the shelf holds 8 (10, less
    # the fulfilled order's 2) of which 2 were committed already (the two placed orders).
    [level_id] = diff["stock.StockLevel"].changed
    assert diff["stock.StockLevel"].changed[level_id]["committed"] == (2, 4)
    assert "on_hand" not in diff["stock.StockLevel"].changed[level_id]
    [movement] = diff["stock.StockMovement"].added
    assert (
        movement["variant_id"],
        movement["reason"],
        movement["delta"],
        movement["committed_delta"],
        movement["quantity_after"],
        movement["committed_after"],
        movement["reference"],
    ) == (world.small.pk, MovementReason.ORDER_PLACED, 0, 2, 8, 4, order["number"])


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
        "stock.StockLevel",
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
    # Back on the shelf at the order's location: 8 on hand there, 9 after.
    [level_id] = diff["stock.StockLevel"].changed
    assert diff["stock.StockLevel"].changed[level_id]["on_hand"] == (8, 9)
    [movement] = diff["stock.StockMovement"].added
    assert (
        movement["delta"],
        movement["quantity_after"],
        movement["committed_delta"],
        movement["location_id"],
        movement["reason"],
        movement["reference"],
    ) == (1, 9, 0, world.fulfilled.location_id, MovementReason.RETURNED, world.fulfilled.number)
    assert not OrderReturn.objects.filter(order=world.others_order).exists()
