"""The stock-value report: units and value by category and collection, exact to the cent."""

from decimal import Decimal

import pytest

from reports.tests.api.support import STOCK_VALUE

pytestmark = pytest.mark.django_db


def test_stock_value_by_category_and_collection(reader, catalog, django_assert_num_queries):
    with django_assert_num_queries(3):  # the key, then one aggregate per grouping
        response = reader.get(STOCK_VALUE)
    assert response.status_code == 200
    body = response.json()
    assert body["currency"] == "EUR"
    assert body["total"] == {"units": 6, "value": "240.00"}
    assert body["by_category"] == [
        {"category": "Sweaters", "units": 2, "value": "160.00", "variants": 1},
        {"category": "Tees", "units": 4, "value": "80.00", "variants": 2},
        {"category": "Pants", "units": 0, "value": "0.00", "variants": 1},
    ]
    assert body["by_collection"] == [
        {"collection": "SS25", "units": 2, "value": "160.00", "variants": 1},
        {"collection": "FW24", "units": 4, "value": "80.00", "variants": 3},
    ]


def test_stock_value_of_an_empty_catalog(reader):
    body = reader.get(STOCK_VALUE).json()
    assert body["total"] == {"units": 0, "value": "0.00"}
    assert body["by_category"] == body["by_collection"] == []


def test_decimal_totals_are_exact(reader, make_product):
    make_product(name="Odd", price="0.10", stock={"S-M": 3})
    assert Decimal(reader.get(STOCK_VALUE).json()["total"]["value"]) == Decimal("0.30")


def test_stock_value_refuses_unknown_parameters(reader):
    response = reader.get(STOCK_VALUE, {"category": "Tees"})
    assert response.status_code == 400
    assert "category" in response.json()["error"]["details"]
