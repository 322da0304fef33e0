"""Returns of a fulfilled order through the API: part of it, then the rest; never more than
was sold; refunded at the price it was sold at."""

from decimal import Decimal

import pytest

from catalog.services import product_update
from orders.models import OrderReturn
from orders.tests.api.support import _quantity, _variant, order_url
from stock.models import StockMovement

pytestmark = pytest.mark.django_db


@pytest.fixture
def fulfilled(shop, order):
    shop.post(order_url(order.pk, "pay"))
    shop.post(order_url(order.pk, "fulfil"))
    return order


def test_return_part_of_an_order_then_the_rest(shop, fulfilled, tee):
    small_line = fulfilled.lines.get(size="S-M")
    product_update(product=tee, data={"price": Decimal("50.00")})

    first = shop.post(
        order_url(fulfilled.pk, "returns"),
        {"lines": [{"line": small_line.pk, "quantity": 1}]},
        format="json",
    )
    assert first.status_code == 201, first.json()
    body = first.json()
    assert body["lines"] == [
        {"line": small_line.pk, "sku": small_line.sku, "quantity": 1, "refund_amount": "29.90"}
    ]
    assert (body["refund_total"], body["currency"]) == ("29.90", "EUR")
    assert _quantity(_variant(tee, "S-M")) == 4

    rest = shop.post(
        order_url(fulfilled.pk, "returns"),
        {
            "lines": [
                {"line": small_line.pk, "quantity": 1},
                {"line": fulfilled.lines.get(size="L-XL").pk, "quantity": 1},
            ]
        },
        format="json",
    )
    assert rest.status_code == 201
    assert rest.json()["refund_total"] == "59.80"
    lines = shop.get(order_url(fulfilled.pk)).json()["lines"]
    assert [(line["quantity"], line["returned_quantity"]) for line in lines] == [(2, 2), (1, 1)]
    returned = StockMovement.objects.filter(reason="returned", reference=fulfilled.number)
    assert sorted(returned.values_list("delta", flat=True)) == [1, 1, 1]


def test_never_return_more_than_was_sold(shop, fulfilled):
    line = fulfilled.lines.get(size="S-M")
    shop.post(
        order_url(fulfilled.pk, "returns"),
        {"lines": [{"line": line.pk, "quantity": 1}]},
        format="json",
    )
    response = shop.post(
        order_url(fulfilled.pk, "returns"),
        {"lines": [{"line": line.pk, "quantity": 2}]},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["error"]["details"] == {
        "lines": [{"quantity": ["From 1 to 1: sold 2, returned 1 already."]}]
    }
    assert OrderReturn.objects.count() == 1


def test_returns_name_lines_of_this_order_once(shop, fulfilled, order):
    line = fulfilled.lines.get(size="S-M")
    response = shop.post(
        order_url(fulfilled.pk, "returns"),
        {
            "lines": [
                {"line": line.pk, "quantity": 1},
                {"line": line.pk, "quantity": 1},
                {"line": 999999, "quantity": 1},
            ]
        },
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["error"]["details"] == {
        "lines": [
            {"line": ["This line is given more than once."]},
            {"line": ["This line is given more than once."]},
            {"line": ["This order has no such line."]},
        ]
    }


def test_only_a_fulfilled_order_takes_returns(shop, order):
    line = order.lines.first()
    response = shop.post(
        order_url(order.pk, "returns"), {"lines": [{"line": line.pk, "quantity": 1}]}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "invalid_transition"


def test_a_line_returned_in_full_says_so(shop, fulfilled):
    line = fulfilled.lines.get(size="L-XL")
    body = {"lines": [{"line": line.pk, "quantity": 1}]}
    assert shop.post(order_url(fulfilled.pk, "returns"), body, format="json").status_code == 201
    response = shop.post(order_url(fulfilled.pk, "returns"), body, format="json")
    assert response.json()["error"]["details"] == {
        "lines": [{"line": ["This line was returned in full already."]}]
    }


def test_a_refund_is_the_unit_price_times_the_quantity(shop, fulfilled):
    line = fulfilled.lines.get(size="S-M")
    response = shop.post(
        order_url(fulfilled.pk, "returns"),
        {"lines": [{"line": line.pk, "quantity": 2}]},
        format="json",
    )
    assert response.json()["lines"][0]["refund_amount"] == "59.80"
    assert response.json()["refund_total"] == "59.80"
