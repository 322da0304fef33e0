"""Fixtures of the orders' API tests: a web shop's client, a tee in two sizes, an order of it."""

import pytest

from orders.models import Order
from orders.tests.api.support import _place, _variant


@pytest.fixture
def shop(key_client):
    """A client app (web shop) whose key may place orders."""
    return key_client("orders:write")


@pytest.fixture
def tee(make_product):
    return make_product(name="Tee", price="29.90", stock={"S-M": 5, "L-XL": 2})


@pytest.fixture
def order(shop, tee):
    body = _place(
        shop,
        {"variant": _variant(tee, "S-M").pk, "quantity": 2},
        {"variant": _variant(tee, "L-XL").pk, "quantity": 1},
    ).json()
    return Order.objects.get(pk=body["id"])
