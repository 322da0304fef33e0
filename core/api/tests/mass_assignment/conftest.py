"""The world of the mass-assignment tests (two products, two client apps, a clerk, orders
placed and fulfilled) and the web shop's client, whose key holds every scope."""

from collections.abc import Callable

import pytest
from django.contrib.auth.models import Group, User
from rest_framework.test import APIClient

from catalog.groups import STORE_STAFF_GROUP
from catalog.models import Product
from core.api.authentication import api_key_actor
from core.api.models import ApiKey, Scope
from core.api.services import api_key_create
from core.api.tests.mass_assignment.support import World
from orders.models import Order
from orders.services import LineRequest, order_place, order_transition


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
