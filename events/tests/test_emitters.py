"""The orders' and the catalog's services emit their events in the transaction of the change:
one per change, with what it tells, and none for a change refused or rolled back."""

from decimal import Decimal

import pytest

from catalog.services import product_update
from conftest import TEST_ACTOR
from events.models import Event
from orders.services import ReturnRequest, order_place, order_return, order_transition
from stock.exceptions import InsufficientStock

pytestmark = pytest.mark.django_db


def _events(*types):
    return list(Event.objects.filter(type__in=types).order_by("id"))


def test_an_order_placed_paid_fulfilled_and_returned_emits_each_step(make_product, place_order):
    variant = make_product(name="Tee", stock={"S-M": 5}).variants.get()
    order = place_order((variant, 2), customer_reference="web-1")
    order_transition(order_id=order.pk, action="pay", actor=TEST_ACTOR)
    order_transition(order_id=order.pk, action="fulfil", actor=TEST_ACTOR)
    line = order.lines.get()
    order_return(
        order_id=order.pk, lines=[ReturnRequest(line_id=line.pk, quantity=1)], actor=TEST_ACTOR
    )

    placed, paid, fulfilled, returned = _events(
        "order.placed", "order.paid", "order.fulfilled", "order.returned"
    )
    common = {
        "id": order.pk,
        "number": order.number,
        "location": "MAIN",
        "total": "59.80",
        "currency": "EUR",
        "customer_reference": "web-1",
    }
    assert placed.data == {
        **common,
        "status": "placed",
        "lines": [{"sku": variant.sku, "quantity": 2, "unit_price": "29.90"}],
    }
    assert paid.data == {**common, "status": "paid"}
    assert fulfilled.data == {**common, "status": "fulfilled"}
    assert returned.data == {
        **common,
        "status": "fulfilled",
        "return_id": order.returns.get().pk,
        "refund_total": "29.90",
        "restocked_at": "MAIN",
        "lines": [{"sku": variant.sku, "quantity": 1, "refund": "29.90"}],
    }


def test_a_cancelled_order_emits_order_cancelled(make_product, place_order):
    variant = make_product(stock={"S-M": 5}).variants.get()
    order = place_order((variant, 1))
    order_transition(order_id=order.pk, action="cancel", actor=TEST_ACTOR)
    [cancelled] = _events("order.cancelled")
    assert (cancelled.data["number"], cancelled.data["status"]) == (order.number, "cancelled")


def test_a_till_sale_emits_placed_paid_and_fulfilled(make_product, shop_key):
    from core.api.authentication import api_key_actor
    from orders.services import LineRequest

    variant = make_product(stock={"S-M": 5}).variants.get()
    order_place(
        lines=[LineRequest(variant_id=variant.pk, quantity=1)],
        actor=api_key_actor(shop_key),
        fulfil=True,
    )
    types = [e.type for e in _events("order.placed", "order.paid", "order.fulfilled")]
    assert types == ["order.placed", "order.paid", "order.fulfilled"]


def test_an_order_refused_for_want_of_stock_emits_nothing(make_product, place_order):
    variant = make_product(stock={"S-M": 1}).variants.get()
    before = Event.objects.count()
    with pytest.raises(InsufficientStock):
        place_order((variant, 2))
    assert Event.objects.count() == before
    assert not _events("order.placed")


def test_products_created_updated_and_archived(make_product):
    product = make_product(name="Tee", stock={})
    product_update(product=product, data={"price": Decimal("31.00")})
    product_update(product=product, data={"price": Decimal("31.00")})  # no change, no event
    product_update(product=product, data={"is_active": False})

    created, updated, archived = _events("product.created", "product.updated", "product.archived")
    data = {
        "id": product.pk,
        "name": "Tee",
        "category": "Tees",
        "color": "Black",
        "collection": "FW24",
        "price": "29.90",
        "is_active": True,
    }
    assert created.data == data
    assert updated.data == {**data, "price": "31.00", "changed": ["price"]}
    assert archived.data == {**data, "price": "31.00", "is_active": False, "changed": ["is_active"]}
