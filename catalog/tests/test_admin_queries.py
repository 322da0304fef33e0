"""No admin list page runs a query per row: each costs the same with 3 rows as with 30."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from conftest import TEST_ACTOR
from core.api.authentication import api_key_actor
from core.api.services import api_key_create
from orders.services import LineRequest, ReturnRequest, order_place, order_return, order_transition
from stock.ledger import StockChange
from stock.services import stock_apply

pytestmark = pytest.mark.django_db

PAGES = [
    "admin:catalog_product_changelist",
    "admin:catalog_variant_changelist",
    "admin:stock_stockmovement_changelist",
    "admin:orders_order_changelist",
    "admin:orders_orderreturn_changelist",
    "admin:api_apikey_changelist",
]


def _add_rows(make_product, count, offset):
    api_key, _ = api_key_create(name=f"shop-{offset}", scopes=["orders:write"])
    actor = api_key_actor(api_key)
    for index in range(offset, offset + count):
        product = make_product(name=f"Product {index}", stock={"S-M": 5, "L-XL": 1})
        variant = product.variants.get(size="S-M")
        stock_apply(
            changes=[StockChange(variant_id=variant.pk, delta=2)],
            reason="received",
            actor=TEST_ACTOR,
        )
        order = order_place(lines=[LineRequest(variant_id=variant.pk, quantity=1)], actor=actor)
        order_transition(order_id=order.pk, action="pay", actor=actor)
        order_transition(order_id=order.pk, action="fulfil", actor=actor)
        line = order.lines.get()
        order_return(
            order_id=order.pk, lines=[ReturnRequest(line_id=line.pk, quantity=1)], actor=actor
        )


def _queries(client, url):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(queries)


@pytest.mark.parametrize("page", PAGES)
def test_list_pages_cost_the_same_whatever_the_rows(superuser_web, make_product, page):
    url = reverse(page)
    _add_rows(make_product, 3, offset=0)
    few = _queries(superuser_web, url)
    _add_rows(make_product, 27, offset=3)
    many = _queries(superuser_web, url)
    assert many == few, f"{page}: {few} queries for 3 rows, {many} for 30"
    assert few <= 12, f"{page}: {few} queries"
