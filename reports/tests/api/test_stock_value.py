"""The stock-value report: units and value by category and collection, exact to the cent."""

from decimal import Decimal

import pytest

from conftest import TEST_ACTOR
from reports.tests.api.support import STOCK_VALUE
from stock.locations import location_create
from stock.services import stock_adjust

pytestmark = pytest.mark.django_db


def test_stock_value_by_category_and_collection(reader, catalog, django_assert_num_queries):
    with django_assert_num_queries(3):  # the key, then one aggregate per grouping
        response = reader.get(STOCK_VALUE)
    assert response.status_code == 200
    body = response.json()
    assert body["currency"] == "EUR"
    assert body["location"] is None
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


@pytest.fixture
def store(catalog):
    """STORE-01 holds 4 of the tee's L-XL and 1 sweater, besides what MAIN holds (the
    catalog's: tee 3 + 1, sweater 2)."""
    tee, sweater = catalog
    store = location_create(code="STORE-01", name="High Street", kind="store")
    for variant, units in ((tee.variants.get(size="L-XL"), 4), (sweater.variants.get(), 1)):
        stock_adjust(
            variant_id=variant.pk, delta=units, reason="received", actor=TEST_ACTOR, location=store
        )
    return store


def test_stock_value_at_a_location(reader, store, django_assert_num_queries):
    # The key, the location, then one aggregate per grouping.
    with django_assert_num_queries(4):
        response = reader.get(STOCK_VALUE, {"location": "store-01"})

    assert response.status_code == 200
    assert response.json() == {
        "currency": "EUR",
        "location": "STORE-01",
        "total": {"units": 5, "value": "160.00"},
        "by_category": [
            {"category": "Sweaters", "units": 1, "value": "80.00", "variants": 1},
            {"category": "Tees", "units": 4, "value": "80.00", "variants": 2},
            {"category": "Pants", "units": 0, "value": "0.00", "variants": 1},
        ],
        "by_collection": [
            {"collection": "FW24", "units": 4, "value": "80.00", "variants": 3},
            {"collection": "SS25", "units": 1, "value": "80.00", "variants": 1},
        ],
    }
    main = reader.get(STOCK_VALUE, {"location": "MAIN"}).json()
    assert main["total"] == {"units": 6, "value": "240.00"}
    everywhere = reader.get(STOCK_VALUE).json()
    assert everywhere["total"] == {"units": 11, "value": "400.00"}


def test_committed_units_are_valued_they_are_still_on_the_shelf(reader, catalog, place_order):
    tee, _ = catalog
    place_order((tee.variants.get(size="S-M"), 2))

    body = reader.get(STOCK_VALUE, {"location": "MAIN"}).json()

    assert body["total"] == {"units": 6, "value": "240.00"}


def test_an_archived_location_has_a_value_of_nothing(reader, catalog):
    location_create(code="OLD", name="Old shop", kind="store", is_active=False)

    body = reader.get(STOCK_VALUE, {"location": "OLD"}).json()

    assert (body["location"], body["total"]) == ("OLD", {"units": 0, "value": "0.00"})


def test_stock_value_at_an_unknown_location_is_400(reader, catalog):
    response = reader.get(STOCK_VALUE, {"location": "nowhere"})

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"
    assert response.json()["error"]["details"] == {"location": ["No location with code 'NOWHERE'."]}


def test_the_location_parameter_is_in_the_schema(reader):
    schema = reader.get("/api/schema/").json()
    operation = schema["paths"]["/api/v1/reports/stock-value/"]["get"]
    assert [parameter["name"] for parameter in operation["parameters"]] == ["location"]
