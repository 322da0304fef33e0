"""An Idempotency-Key on the orders' API: a retried order, action or return is done once and
its answer replayed; the same key with another body is refused."""

import pytest

from orders.models import Order, OrderReturn
from orders.tests.api.support import ORDERS, _quantity, _variant, order_url
from stock.models import StockMovement

pytestmark = pytest.mark.django_db


def test_a_retried_order_is_placed_once(shop, tee):
    body = {"lines": [{"variant": _variant(tee, "S-M").pk, "quantity": 1}]}
    first = shop.post(ORDERS, body, format="json", HTTP_IDEMPOTENCY_KEY="checkout-1")
    again = shop.post(ORDERS, body, format="json", HTTP_IDEMPOTENCY_KEY="checkout-1")
    other = shop.post(
        ORDERS,
        {"lines": [{"variant": _variant(tee, "S-M").pk, "quantity": 2}]},
        format="json",
        HTTP_IDEMPOTENCY_KEY="checkout-1",
    )
    assert (first.status_code, again.status_code, other.status_code) == (201, 201, 422)
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert Order.objects.count() == 1
    assert _quantity(_variant(tee, "S-M")) == 4


def test_actions_and_returns_replay_too(shop, order):
    for action in ("pay", "fulfil"):
        first = shop.post(order_url(order.pk, action), HTTP_IDEMPOTENCY_KEY=f"{action}-1")
        again = shop.post(order_url(order.pk, action), HTTP_IDEMPOTENCY_KEY=f"{action}-1")
        assert first.status_code == again.status_code == 200
        assert again["Idempotent-Replayed"] == "true"
    line = order.lines.get(size="S-M")
    body = {"lines": [{"line": line.pk, "quantity": 1}]}
    first = shop.post(
        order_url(order.pk, "returns"), body, format="json", HTTP_IDEMPOTENCY_KEY="r-1"
    )
    again = shop.post(
        order_url(order.pk, "returns"), body, format="json", HTTP_IDEMPOTENCY_KEY="r-1"
    )
    assert (first.status_code, again.status_code) == (201, 201)
    assert OrderReturn.objects.count() == 1
    line.refresh_from_db()
    assert line.returned_quantity == 1


def test_a_retried_cancel_replays_and_a_changed_body_is_refused(shop, order, tee):
    first = shop.post(order_url(order.pk, "cancel"), HTTP_IDEMPOTENCY_KEY="c-1")
    again = shop.post(order_url(order.pk, "cancel"), HTTP_IDEMPOTENCY_KEY="c-1")
    changed = shop.post(
        order_url(order.pk, "cancel"), {"why": "x"}, format="json", HTTP_IDEMPOTENCY_KEY="c-1"
    )
    assert (first.status_code, again.status_code, changed.status_code) == (200, 200, 422)
    assert again["Idempotent-Replayed"] == "true"
    assert StockMovement.objects.filter(reason="order_cancelled").count() == 2
