"""Fixtures for the orders' tests: orders placed through the service by a client app."""

from collections.abc import Callable

import pytest

from catalog.models import Variant
from core.api.authentication import api_key_actor
from core.api.models import ApiKey, Scope
from core.api.services import api_key_create
from orders.models import Order
from orders.services import LineRequest, order_place

PlaceOrder = Callable[..., Order]


@pytest.fixture
def shop_key(db: None) -> ApiKey:
    """The web shop: a client app whose key may place orders."""
    api_key, _ = api_key_create(name="web-shop", scopes=[Scope.ORDERS_WRITE])
    return api_key


@pytest.fixture
def place_order(shop_key: ApiKey) -> PlaceOrder:
    """Place an order through the service as the web shop; lines as ``(variant, quantity)``."""

    def place(*lines: tuple[Variant, int], customer_reference: str = "", note: str = "") -> Order:
        return order_place(
            lines=[LineRequest(variant_id=variant.pk, quantity=qty) for variant, qty in lines],
            actor=api_key_actor(shop_key),
            customer_reference=customer_reference,
            note=note,
        )

    return place
