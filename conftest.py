"""Fixtures shared by every app's tests, and the rules for PostgreSQL-only and slow tests."""

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.core.cache import cache
from django.db import connection
from django.test import Client
from rest_framework.test import APIClient

from catalog.groups import MANAGER_GROUP, STORE_STAFF_GROUP
from catalog.models import Product, Variant
from catalog.services import VariantSpec, product_create
from core.actors import system_actor
from core.api.authentication import api_key_actor
from core.api.models import ApiKey, Scope
from core.api.services import api_key_create
from orders.models import Order
from orders.services import LineRequest, order_place

TEST_ACTOR = system_actor("test")

PlaceOrder = Callable[..., Order]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On SQLite, skip what only PostgreSQL can prove and what is slow; on PostgreSQL run all."""
    if connection.vendor == "postgresql":
        return
    only_postgres = pytest.mark.skip(
        reason="needs PostgreSQL (row locks, real concurrency); runs in the PostgreSQL pass"
    )
    slow = pytest.mark.skip(reason="slow test; runs in the PostgreSQL pass only")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(only_postgres)
        elif "slow" in item.keywords:
            item.add_marker(slow)


@pytest.fixture(autouse=True)
def _clear_cache() -> None:
    """Throttling counts requests in the cache; each test starts with none counted."""
    cache.clear()


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def make_key(db: None) -> Callable[..., str]:
    """Create an API key with the given scopes and return its raw value."""
    counter = iter(range(1, 10_000))

    def make(*scopes: str, name: str | None = None, **kwargs: Any) -> str:
        _, raw_key = api_key_create(name=name or f"client-{next(counter)}", scopes=scopes, **kwargs)
        return raw_key

    return make


@pytest.fixture
def key_client(make_key: Callable[..., str]) -> Callable[..., APIClient]:
    """An API client authenticated with a new key holding the given scopes."""

    def make(*scopes: str) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {make_key(*scopes)}")
        return client

    return make


@pytest.fixture
def reader(key_client: Callable[..., APIClient]) -> APIClient:
    """A client app whose key may only read the catalog."""
    return key_client()


@pytest.fixture
def writer(key_client: Callable[..., APIClient]) -> APIClient:
    """A client app whose key may change the catalog."""
    return key_client("catalog:write")


def _staff_user(username: str, group: str | None) -> User:
    user = User.objects.create_user(username=username, password="pw", is_staff=True)
    if group:
        user.groups.add(Group.objects.get(name=group))
    return user


@pytest.fixture
def manager(db: None) -> User:
    return _staff_user("manager", MANAGER_GROUP)


@pytest.fixture
def store_staff(db: None) -> User:
    return _staff_user("clerk", STORE_STAFF_GROUP)


@pytest.fixture
def manager_client(manager: User) -> APIClient:
    client = APIClient()
    client.force_login(manager)
    return client


@pytest.fixture
def make_product(db: None) -> Callable[..., Product]:
    """Create a product through the service; variants as ``{size: quantity}``."""

    def make(
        *,
        name: str = "Organic Cotton Tee",
        category: str = "Tees",
        color: str = "Black",
        price: str = "29.90",
        collection: str = "FW24",
        is_active: bool = True,
        stock: dict[str, int] | None = None,
        **variant_kwargs: Any,
    ) -> Product:
        sizes = {"S-M": 5, "L-XL": 0} if stock is None else stock
        return product_create(
            name=name,
            category=category,
            color=color,
            price=Decimal(price),
            collection=collection,
            is_active=is_active,
            actor=TEST_ACTOR,
            variants=[
                VariantSpec(size=size, quantity=quantity, **variant_kwargs)
                for size, quantity in sizes.items()
            ],
        )

    return make


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


@pytest.fixture
def login() -> Callable[[User], Client]:
    """A browser session of the given user."""

    def log_in(user: User) -> Client:
        client = Client()
        client.force_login(user)
        return client

    return log_in


@pytest.fixture
def manager_web(login: Callable[[User], Client], manager: User) -> Client:
    return login(manager)


@pytest.fixture
def superuser_web(login: Callable[[User], Client], admin_user: User) -> Client:
    return login(admin_user)
