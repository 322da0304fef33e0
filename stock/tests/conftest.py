"""Fixtures of the stock's tests: a client that may change stock, a variant, a small ledger; the
catalog admin's product (Tee) and its S-M variant, for the ledger admin's tests; and the
locations (the default MAIN, a shop, the web shop's stock, an archived shop)."""

import pytest

from catalog.tests.admin_stock_support import small, tee
from stock.tests.api_support import adjust_url, count_url
from stock.tests.location_support import archived, main, online, store

__all__ = [
    "archived",
    "ledger",
    "main",
    "online",
    "small",
    "stock_client",
    "store",
    "tee",
    "variant",
]


@pytest.fixture
def stock_client(key_client):
    return key_client("stock:write")


@pytest.fixture
def variant(make_product):
    return make_product(name="Tee", stock={"S-M": 5}).variants.get()


@pytest.fixture
def ledger(make_product, stock_client):
    tee = make_product(name="Tee", stock={"S-M": 5, "L-XL": 2})
    pant = make_product(name="Pant", category="Pants", stock={"S-M": 1})
    small, large = tee.variants.get(size="S-M"), tee.variants.get(size="L-XL")
    stock_client.post(adjust_url(small), {"delta": 3, "reason": "received"}, format="json")
    stock_client.post(adjust_url(large), {"delta": -1, "reason": "damaged"}, format="json")
    stock_client.post(count_url(small), {"quantity": 7}, format="json")
    return {"tee": tee, "pant": pant, "small": small, "large": large}
