"""Fixtures of the orders' admin tests: a browser session per staff role, two products and an
order of both, and a return of one of its tees."""

from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from django.test import Client

from catalog.models import Product, Variant
from conftest import PlaceOrder
from orders import services
from orders.models import Order, OrderReturn
from orders.services import ReturnRequest
from orders.tests.admin.support import ACTOR, ROLES, _move


@pytest.fixture(params=ROLES)
def web(request: pytest.FixtureRequest, login: Callable[[User], Client]) -> Client:
    """A browser session of a superuser, a Manager or a Store staff member."""
    user: User = request.getfixturevalue(request.param)
    return login(user)


@pytest.fixture
def tee(make_product: Callable[..., Product]) -> Product:
    return make_product(name="Organic Cotton Tee", price="29.90", stock={"S-M": 10, "L-XL": 5})


@pytest.fixture
def shirt(make_product: Callable[..., Product]) -> Product:
    return make_product(name="Linen Shirt", price="59.00", stock={"One Size": 3})


@pytest.fixture
def small(tee: Product) -> Variant:
    return tee.variants.get(size="S-M")


@pytest.fixture
def one_size(shirt: Product) -> Variant:
    return shirt.variants.get()


@pytest.fixture
def order(place_order: PlaceOrder, small: Variant, one_size: Variant) -> Order:
    """Two tees at 29.90 and a shirt at 59.00: 118.80."""
    return place_order((small, 2), (one_size, 1), customer_reference="CUST-0042")


@pytest.fixture
def order_return(order: Order, small: Variant) -> OrderReturn:
    """One of the two tees came back after the order was fulfilled."""
    _move(order, "pay", "fulfil")
    line = order.lines.get(variant=small)
    return services.order_return(
        order_id=order.pk,
        lines=[ReturnRequest(line_id=line.pk, quantity=1)],
        actor=ACTOR,
        note="Too small",
    )
