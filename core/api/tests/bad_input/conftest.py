"""A client holding every scope, a variant with 5 units, and the check that nothing was
written."""

import pytest

from catalog.models import Product, Variant
from core.api.models import Scope
from orders.models import Order
from stock.models import StockMovement


@pytest.fixture
def client(key_client):
    return key_client(*Scope.values)


@pytest.fixture
def variant(make_product):
    return make_product(stock={"S-M": 5}).variants.get()


@pytest.fixture
def unchanged(variant):
    """Asserts afterwards that nothing was written: no product, variant, movement or order, and
    the same quantity."""
    before = (
        Product.objects.count(),
        Variant.objects.count(),
        StockMovement.objects.count(),
        Order.objects.count(),
    )
    yield
    after = (
        Product.objects.count(),
        Variant.objects.count(),
        StockMovement.objects.count(),
        Order.objects.count(),
    )
    assert after == before
    variant.refresh_from_db()
    assert variant.quantity == 5
