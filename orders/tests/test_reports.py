"""Reports for client dashboards: stock value by category and collection, sales per day."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from orders.models import Order
from orders.services import order_transition

pytestmark = pytest.mark.django_db

STOCK_VALUE = "/api/v1/reports/stock-value/"
SALES = "/api/v1/reports/sales/"


@pytest.fixture
def catalog(make_product):
    tee = make_product(name="Tee", price="20.00", collection="FW24", stock={"S-M": 3, "L-XL": 1})
    sweater = make_product(
        name="Sweater", category="Sweaters", price="80.00", collection="SS25", stock={"S-M": 2}
    )
    make_product(name="Pants", category="Pants", price="50.00", collection="FW24", stock={"S-M": 0})
    return tee, sweater


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


def _place(place_order, variant, quantity, days_ago):
    order = place_order((variant, quantity))
    Order.objects.filter(pk=order.pk).update(
        created_at=timezone.now() - datetime.timedelta(days=days_ago)
    )
    return order


def test_sales_per_day_with_every_day_present(
    key_client, catalog, place_order, django_assert_num_queries
):
    tee, sweater = catalog
    tee_sm = tee.variants.get(size="S-M")
    _place(place_order, tee_sm, 2, days_ago=0)
    _place(place_order, sweater.variants.get(), 1, days_ago=0)
    _place(place_order, tee_sm, 1, days_ago=2)
    cancelled = _place(place_order, tee.variants.get(size="L-XL"), 1, days_ago=2)
    order_transition(order_id=cancelled.pk, action="cancel", actor=_actor())
    _place(place_order, sweater.variants.get(), 1, days_ago=40)  # outside the default 30 days

    client = key_client("reports:read")
    with django_assert_num_queries(2):  # the key, the aggregate
        response = client.get(SALES)
    assert response.status_code == 200
    body = response.json()
    today = timezone.localdate()
    assert body["date_to"] == today.isoformat()
    assert body["date_from"] == (today - datetime.timedelta(days=29)).isoformat()
    assert len(body["days"]) == 30
    by_date = {day["date"]: day for day in body["days"]}
    assert by_date[today.isoformat()] == {
        "date": today.isoformat(),
        "orders": 2,
        "units": 3,
        "revenue": "120.00",
    }
    two_days_ago = (today - datetime.timedelta(days=2)).isoformat()
    assert by_date[two_days_ago]["orders"] == 1  # the cancelled order did not sell
    assert by_date[(today - datetime.timedelta(days=1)).isoformat()]["orders"] == 0
    assert body["total"] == {"orders": 3, "units": 4, "revenue": "140.00"}

    wide = client.get(SALES, {"date_from": (today - datetime.timedelta(days=45)).isoformat()})
    assert wide.json()["total"]["orders"] == 4


def _actor():
    from inventory_project.actors import system_actor

    return system_actor("test")


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"date_from": "2026-02-30"}, "date_from"),
        ({"date_to": "yesterday"}, "date_to"),
        ({"date_from": "2026-05-02", "date_to": "2026-05-01"}, "date_from"),
        ({"date_from": "2024-01-01", "date_to": "2026-01-01"}, "date_from"),
        ({"from": "2026-01-01"}, "from"),
        ({"date_from": "9999-12-01", "date_to": "9999-12-31"}, "date_from"),
        ({"date_from": "0001-01-01", "date_to": "0001-01-02"}, "date_from"),
    ],
)
def test_sales_refuses_a_bad_range(key_client, query, field):
    response = key_client("reports:read").get(SALES, query)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert field in error["details"]


def test_who_may_read_reports(reader, key_client, store_staff, login, api_client):
    from rest_framework.test import APIClient

    assert reader.get(STOCK_VALUE).status_code == 200
    # Sales are not a catalog reader's business.
    refused = reader.get(SALES)
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "permission_denied")
    assert key_client("orders:write").get(SALES).status_code == 403
    assert key_client("reports:read").get(SALES).status_code == 200
    assert api_client.get(STOCK_VALUE).status_code == 401
    assert api_client.get(SALES).status_code == 401

    staff = APIClient()
    staff.force_login(store_staff)
    assert staff.get(STOCK_VALUE).status_code == 200
    assert staff.get(SALES).status_code == 200


def test_reports_appear_in_the_schema(reader):
    schema = reader.get("/api/schema/").json()
    assert "/api/v1/reports/stock-value/" in schema["paths"]
    sales = schema["paths"]["/api/v1/reports/sales/"]["get"]
    assert {p["name"] for p in sales["parameters"]} >= {"date_from", "date_to"}


def test_decimal_totals_are_exact(reader, make_product):
    make_product(name="Odd", price="0.10", stock={"S-M": 3})
    assert Decimal(reader.get(STOCK_VALUE).json()["total"]["value"]) == Decimal("0.30")


def test_stock_value_refuses_unknown_parameters(reader):
    response = reader.get(STOCK_VALUE, {"category": "Tees"})
    assert response.status_code == 400
    assert "category" in response.json()["error"]["details"]
