"""Orders at locations: placing commits the units where the order is placed (the default location
unless given), fulfilling takes them off that shelf, cancelling releases them once; a till sale
takes them at once; a return restocks where it is brought back; and stock at one location never
fills an order at another."""

import pytest
from django.core.exceptions import ValidationError

from core.api.authentication import api_key_actor
from orders.exceptions import InvalidTransition
from orders.models import Order, OrderStatus
from orders.services import LineRequest, ReturnRequest, order_place, order_return, order_transition
from stock.exceptions import InsufficientStock
from stock.services import stock_adjust
from stock.tests.location_support import everything, last_movement_id, levels, movements, totals

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop(shop_key):
    """The web shop's actor: orders are placed by a client app or a staff user."""
    return api_key_actor(shop_key)


@pytest.fixture
def tee(make_product, store, shop):
    """20 at MAIN (its opening stock) and 10 delivered to the shop: 30 for sale."""
    variant = make_product(name="Tee", price="20.00", stock={"S-M": 20}).variants.get()
    stock_adjust(variant_id=variant.pk, delta=10, reason="received", actor=shop, location=store)
    return variant


def _place(shop, variant, quantity, **kwargs):
    return order_place(
        lines=[LineRequest(variant_id=variant.pk, quantity=quantity)], actor=shop, **kwargs
    )


def _move(order, shop, *actions):
    for action in actions:
        order_transition(order_id=order.pk, action=action, actor=shop)


# Placing


def test_placing_commits_the_units_at_the_given_location(shop, tee, store):
    start = last_movement_id()

    order = _place(shop, tee, 4, location=store)

    assert (order.status, order.location) == (OrderStatus.PLACED, store)
    assert levels() == {(tee.sku, "MAIN"): (20, 0), (tee.sku, "STORE-01"): (10, 4)}
    assert totals(tee) == {tee.sku: (26, 4)}
    assert movements(start) == [
        (tee.sku, "order_placed", 0, 4, 10, 4, "STORE-01", order.number),
    ]


def test_placing_without_a_location_commits_at_the_default(shop, tee, main):
    start = last_movement_id()

    order = _place(shop, tee, 4)

    assert (order.status, order.location) == (OrderStatus.PLACED, main)
    assert levels() == {(tee.sku, "MAIN"): (20, 4), (tee.sku, "STORE-01"): (10, 0)}
    assert totals(tee) == {tee.sku: (26, 4)}
    assert movements(start) == [(tee.sku, "order_placed", 0, 4, 20, 4, "MAIN", order.number)]


def test_fulfilling_takes_the_committed_units_off_the_shelf_there(shop, tee, store):
    start = last_movement_id()
    order = _place(shop, tee, 4, location=store)

    _move(order, shop, "pay")
    assert len(movements(start)) == 1  # paying moves no stock
    _move(order, shop, "fulfil")

    # What is for sale did not change: the units were committed already.
    assert levels() == {(tee.sku, "MAIN"): (20, 0), (tee.sku, "STORE-01"): (6, 0)}
    assert totals(tee) == {tee.sku: (26, 0)}
    assert movements(start) == [
        (tee.sku, "order_placed", 0, 4, 10, 4, "STORE-01", order.number),
        (tee.sku, "sale", -4, -4, 6, 0, "STORE-01", order.number),
    ]


@pytest.mark.parametrize("paid", [False, True], ids=["placed", "paid"])
def test_a_cancel_releases_the_units_exactly_once(shop, tee, store, paid):
    start = last_movement_id()
    order = _place(shop, tee, 4, location=store)
    if paid:
        _move(order, shop, "pay")

    _move(order, shop, "cancel")

    assert levels() == {(tee.sku, "MAIN"): (20, 0), (tee.sku, "STORE-01"): (10, 0)}
    assert totals(tee) == {tee.sku: (30, 0)}
    assert movements(start) == [
        (tee.sku, "order_placed", 0, 4, 10, 4, "STORE-01", order.number),
        (tee.sku, "order_cancelled", 0, -4, 10, 0, "STORE-01", order.number),
    ]

    before = everything()
    with pytest.raises(InvalidTransition) as again:
        _move(order, shop, "cancel")
    assert again.value.details == {"status": "cancelled", "action": "cancel"}
    assert everything() == before


def test_a_till_sale_is_paid_and_fulfilled_at_once(shop, tee, store):
    # Given an open order holding 1 at the shop
    _place(shop, tee, 1, location=store)
    start = last_movement_id()

    sale = _place(shop, tee, 2, location=store, fulfil=True)

    sale.refresh_from_db()
    assert (sale.status, sale.location, sale.cancelled_at) == (OrderStatus.FULFILLED, store, None)
    assert sale.paid_at is not None
    assert sale.paid_at == sale.fulfilled_at
    # Taken off the shelf, never committed: the open order's unit stays committed.
    assert levels() == {(tee.sku, "MAIN"): (20, 0), (tee.sku, "STORE-01"): (8, 1)}
    assert totals(tee) == {tee.sku: (27, 1)}
    assert movements(start) == [(tee.sku, "sale", -2, 0, 8, 1, "STORE-01", sale.number)]


# Returns


def _fulfilled(shop, tee, store):
    order = _place(shop, tee, 4, location=store)
    _move(order, shop, "pay", "fulfil")
    return order


def test_a_return_restocks_at_the_orders_location(shop, tee, store):
    order = _fulfilled(shop, tee, store)
    start = last_movement_id()

    order_return(
        order_id=order.pk,
        lines=[ReturnRequest(line_id=order.lines.get().pk, quantity=1)],
        actor=shop,
    )

    assert levels() == {(tee.sku, "MAIN"): (20, 0), (tee.sku, "STORE-01"): (7, 0)}
    assert totals(tee) == {tee.sku: (27, 0)}
    assert movements(start) == [(tee.sku, "returned", 1, 0, 7, 0, "STORE-01", order.number)]


def test_a_return_restocks_at_another_location_given(shop, tee, store, online):
    # A shop's order brought back to the web shop's stock, where the tee had no level yet
    order = _fulfilled(shop, tee, store)
    start = last_movement_id()

    order_return(
        order_id=order.pk,
        lines=[ReturnRequest(line_id=order.lines.get().pk, quantity=3)],
        actor=shop,
        location=online,
    )

    assert levels() == {
        (tee.sku, "MAIN"): (20, 0),
        (tee.sku, "STORE-01"): (6, 0),
        (tee.sku, "WEB"): (3, 0),
    }
    assert totals(tee) == {tee.sku: (29, 0)}
    assert movements(start) == [(tee.sku, "returned", 3, 0, 3, 0, "WEB", order.number)]


# Refusals


@pytest.mark.parametrize("held", [0, 3], ids=["none-delivered-there", "all-committed-there"])
def test_stock_at_one_location_never_fills_an_order_at_another(shop, make_product, store, held):
    # Given a cap with 20 at MAIN and none for sale at the shop (never delivered there, or all
    # of it committed), and a scarf for sale at the shop
    cap = make_product(name="Cap", stock={"One Size": 20}).variants.get()
    scarf = make_product(name="Scarf", stock={"One Size": 0}).variants.get()
    stock_adjust(variant_id=scarf.pk, delta=5, reason="received", actor=shop, location=store)
    if held:
        stock_adjust(variant_id=cap.pk, delta=held, reason="received", actor=shop, location=store)
        _place(shop, cap, held, location=store)
    before = everything()

    # When an order of both is placed at the shop
    with pytest.raises(InsufficientStock) as error:
        order_place(
            lines=[
                LineRequest(variant_id=scarf.pk, quantity=1),
                LineRequest(variant_id=cap.pk, quantity=1),
            ],
            actor=shop,
            location=store,
        )

    # Then it is refused naming the shop and the cap's line only, and nothing changed anywhere
    assert error.value.message == "Not enough stock at STORE-01; nothing was changed."
    assert error.value.details == {
        "location": "STORE-01",
        "lines": [
            {
                "variant": cap.pk,
                "sku": cap.sku,
                "location": "STORE-01",
                "requested": 1,
                "available": 0,
            }
        ],
    }
    assert everything() == before
    assert Order.objects.count() == (1 if held else 0)


def test_an_archived_location_takes_no_order(shop, tee, archived):
    before = everything()

    with pytest.raises(ValidationError) as error:
        _place(shop, tee, 1, location=archived)

    assert error.value.message_dict == {"location": ["STORE-02 is archived and holds no stock."]}
    assert everything() == before
