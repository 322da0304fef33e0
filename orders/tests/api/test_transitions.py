"""An order's lifecycle through the API: pay, fulfil, cancel (which restocks every line once);
any other transition is refused and changes nothing."""

import pytest
from django.core.exceptions import ValidationError

from orders.models import Order
from orders.tests.api.support import _place, _quantity, _variant, order_url
from stock.models import StockLevel, StockMovement

pytestmark = pytest.mark.django_db


def test_pay_then_fulfil(shop, order):
    paid = shop.post(order_url(order.pk, "pay"))
    fulfilled = shop.post(order_url(order.pk, "fulfil"))
    assert (paid.status_code, fulfilled.status_code) == (200, 200)
    assert paid.json()["status"] == "paid"
    assert paid.json()["paid_at"]
    assert fulfilled.json()["status"] == "fulfilled"
    assert fulfilled.json()["fulfilled_at"]


@pytest.mark.parametrize("paid_first", [False, True])
def test_cancel_restocks_every_line_once(shop, order, tee, paid_first):
    if paid_first:
        shop.post(order_url(order.pk, "pay"))
    response = shop.post(order_url(order.pk, "cancel"))
    again = shop.post(order_url(order.pk, "cancel"))
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "invalid_transition"
    assert (_quantity(_variant(tee, "S-M")), _quantity(_variant(tee, "L-XL"))) == (5, 2)
    assert (_variant(tee, "S-M").committed, _variant(tee, "L-XL").committed) == (0, 0)
    # The units never left the shelf: the cancel releases what the order committed, once.
    restocks = StockMovement.objects.filter(reason="order_cancelled")
    assert sorted(
        restocks.values_list("delta", "committed_delta", "quantity_after", "reference")
    ) == [
        (0, -2, 5, order.number),
        (0, -1, 2, order.number),
    ]


@pytest.mark.parametrize(
    ("steps", "action"),
    [
        ([], "fulfil"),
        (["cancel"], "pay"),
        (["cancel"], "fulfil"),
        (["pay", "fulfil"], "cancel"),
        (["pay", "fulfil"], "pay"),
        (["pay"], "pay"),
    ],
)
def test_any_other_transition_is_refused_and_changes_nothing(shop, order, steps, action):
    for step in steps:
        assert shop.post(order_url(order.pk, step)).status_code == 200
    before = (Order.objects.values().get(pk=order.pk), StockMovement.objects.count())
    response = shop.post(order_url(order.pk, action))
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "invalid_transition"
    assert (Order.objects.values().get(pk=order.pk), StockMovement.objects.count()) == before


def test_a_cancel_releases_its_units_even_at_the_manual_ceiling(shop, make_product):
    """The ceiling guards what people type: units an order gives back are never refused. They
    never left the shelf, which is full (a delivery is refused), and come back as available."""
    from catalog.validators import MAX_QUANTITY
    from core.actors import system_actor
    from stock.services import stock_adjust

    bulk = _variant(make_product(name="Socks", stock={"S-M": MAX_QUANTITY}), "S-M")
    order_id = _place(shop, {"variant": bulk.pk, "quantity": 1}).json()["id"]
    with pytest.raises(ValidationError, match=f"cannot exceed {MAX_QUANTITY}"):
        stock_adjust(variant_id=bulk.pk, delta=1, reason="received", actor=system_actor("test"))
    assert (_quantity(bulk), bulk.committed) == (MAX_QUANTITY - 1, 1)
    response = shop.post(order_url(order_id, "cancel"))
    assert response.status_code == 200
    assert (_quantity(bulk), bulk.committed) == (MAX_QUANTITY, 0)
    assert StockLevel.objects.values_list("on_hand", "committed").get(variant=bulk) == (
        MAX_QUANTITY,
        0,
    )
