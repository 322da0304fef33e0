"""One rule for every JSON body: exactly the fields the schema lists, each of its JSON type."""

import pytest

from catalog.models import Product, Variant
from core.api.models import Scope
from core.api.tests.support import (
    LOCATIONS,
    ORDERS,
    PRODUCT,
    PRODUCTS,
    VARIANTS,
    assert_error,
    assert_invalid,
)
from orders.models import Order
from stock.models import Location, StockMovement

pytestmark = pytest.mark.django_db


@pytest.fixture
def client(key_client):
    return key_client(*Scope.values)


@pytest.fixture
def variant(make_product):
    return make_product(stock={"S-M": 5}).variants.get()


def _counts():
    return [model.objects.count() for model in (Product, Variant, StockMovement, Order, Location)]


def _url(name, variant):
    return {
        "product": f"{PRODUCTS}{variant.product_id}/",
        "variant": f"{VARIANTS}{variant.pk}/",
        "adjust": f"{VARIANTS}{variant.pk}/adjust/",
        "count": f"{VARIANTS}{variant.pk}/count/",
        "location": f"{LOCATIONS}{Location.objects.get(code='MAIN').pk}/",
    }.get(name, name)


@pytest.mark.parametrize(
    ("method", "url", "body", "details"),
    [
        ("post", PRODUCTS, {**PRODUCT, "prise": "1.00"}, {"prise": None}),
        ("patch", "product", {"colour": "Red"}, {"colour": None}),
        ("post", PRODUCTS, {**PRODUCT, "variants": [{"size": "S-M", "qty": 1}]}, {"variants": [{"qty": None}]}),
        ("post", VARIANTS, {"product": 1, "size": "L-XL", "stock": 3}, {"stock": None}),
        ("patch", "variant", {"treshold": 2}, {"treshold": None}),
        ("post", "adjust", {"delta": 1, "reason": "received", "dry_run": True}, {"dry_run": None}),
        ("post", "count", {"quantity": 5, "expected": 5}, {"expected": None}),
        ("post", ORDERS, {"lines": [{"sku": "X", "quantity": 1}], "coupon": "FREE"}, {"coupon": None}),
        ("post", ORDERS, {"lines": [{"sku": "X", "qty": 1, "quantity": 1}]}, {"lines": [{"qty": None}]}),
        ("post", LOCATIONS, {"code": "WEB", "name": "Web", "kind": "online", "default": True}, {"default": None}),
        ("patch", "location", {"nmae": "Web"}, {"nmae": None}),
    ],
)  # fmt: skip
def test_an_unknown_field_is_named_and_changes_nothing(client, variant, method, url, body, details):
    if body.get("product") == 1:
        body = {**body, "product": variant.product_id}
    before = _counts()
    response = getattr(client, method)(_url(url, variant), body)
    error = assert_invalid(response, *details)
    for name, nested in details.items():
        got = error["details"][name]
        if nested is None:
            assert got[0].startswith("Unknown field; the fields here are: "), got
        else:
            unknown = next(iter(nested[0]))
            assert got[0][unknown][0].startswith("Unknown field; the fields here are: "), got
    assert _counts() == before


def test_the_message_lists_the_fields_a_body_takes(client, variant):
    response = client.post(_url("adjust", variant), {"delta": 1, "reason": "received", "why": "x"})
    assert response.json()["error"]["details"] == {
        "why": ["Unknown field; the fields here are: delta, reason, note, reference, location."]
    }


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("is_active", "yes", "Expected true or false; got a string."),
        ("is_active", "true", "Expected true or false; got a string."),
        ("is_active", "0", "Expected true or false; got a string."),
        ("is_active", 1, "Expected true or false; got a number."),
        ("is_active", 0, "Expected true or false; got a number."),
        ("price", 9.9, 'Expected a string such as "29.90"; got a number with a decimal point.'),
        ("price", 10, 'Expected a string such as "29.90"; got a number.'),
        ("name", 5, "Expected a string; got a number."),
        ("name", True, "Expected a string; got a boolean."),
        ("name", ["Tee"], "Expected a string; got an array."),
        ("category", 1, "Expected a string; got a number."),
        ("collection", {"season": "FW"}, "Expected a string; got an object."),
    ],
)
def test_a_product_value_of_another_json_type_is_refused(client, field, value, message):
    before = _counts()
    error = assert_invalid(client.post(PRODUCTS, {**PRODUCT, field: value}), field)
    assert error["details"] == {field: [message]}
    assert _counts() == before


@pytest.mark.parametrize(
    ("url", "body", "field", "message"),
    [
        ("adjust", {"delta": "2", "reason": "received"}, "delta", "Expected a whole number; got a string."),
        ("adjust", {"delta": 2.0, "reason": "received"}, "delta", "Expected a whole number; got a number with a decimal point."),
        ("adjust", {"delta": True, "reason": "received"}, "delta", "Expected a whole number; got a boolean."),
        ("adjust", {"delta": 2, "reason": 1}, "reason", "Expected a string; got a number."),
        ("count", {"quantity": "5"}, "quantity", "Expected a whole number; got a string."),
        ("variant", {"low_stock_threshold": "3"}, "low_stock_threshold", "Expected a whole number; got a string."),
        ("variant", {"barcode": 4006381333931}, "barcode", "Expected a string; got a number."),
    ],
)  # fmt: skip
def test_a_stock_or_variant_value_of_another_json_type_is_refused(
    client, variant, url, body, field, message
):
    before = _counts()
    method = "patch" if url == "variant" else "post"
    error = assert_invalid(getattr(client, method)(_url(url, variant), body), field)
    assert error["details"] == {field: [message]}
    assert _counts() == before
    variant.refresh_from_db()
    assert (variant.quantity, variant.low_stock_threshold, variant.barcode) == (5, 2, None)


def test_an_order_line_of_another_json_type_is_named_in_its_place(client, variant):
    body = {
        "lines": [
            {"variant": variant.pk, "quantity": 1},
            {"variant": str(variant.pk), "quantity": 1},
        ]
    }
    error = assert_invalid(client.post(ORDERS, body), "lines")
    assert error["details"] == {
        "lines": [{}, {"variant": ["Expected a whole number; got a string."]}]
    }
    assert Order.objects.count() == 0


def test_values_of_the_documented_types_are_taken(client):
    response = client.post(
        PRODUCTS, {**PRODUCT, "is_active": False, "variants": [{"size": "S-M", "quantity": 3}]}
    )
    assert response.status_code == 201, response.json()
    assert (response.json()["is_active"], response.json()["variants"][0]["quantity"]) == (False, 3)


def test_null_where_the_schema_allows_it_is_taken(client, variant):
    response = client.patch(_url("variant", variant), {"barcode": None})
    assert response.status_code == 200, response.json()


@pytest.mark.parametrize(
    "body",
    [
        '{"delta": 1, "delta": 100, "reason": "received"}',
        '{"delta": 1, "reason": "received", "note": "a", "note": "b"}',
    ],
)
def test_a_key_given_twice_in_a_body_is_refused(client, variant, body):
    response = client.post(_url("adjust", variant), data=body, content_type="application/json")
    error = assert_error(response, 400, "parse_error")
    assert "appears more than once in an object" in error["message"]
    variant.refresh_from_db()
    assert variant.quantity == 5


def test_a_key_given_twice_in_a_line_is_refused(client, variant):
    body = f'{{"lines": [{{"variant": {variant.pk}, "quantity": 1, "quantity": 50}}]}}'
    assert_error(
        client.post(ORDERS, data=body, content_type="application/json"), 400, "parse_error"
    )
    assert Order.objects.count() == 0


@pytest.mark.parametrize("price", ["2.99e1", "+29.90", "029.90", "29.", " 29.90", "29.90 "])
def test_a_price_is_written_as_the_api_writes_it(client, price):
    error = assert_invalid(client.post(PRODUCTS, {**PRODUCT, "price": price}), "price")
    assert error["details"] == {
        "price": ['Write a price as digits, with at most two places after a point, e.g. "29.90".']
    }
    assert Product.objects.count() == 0


@pytest.mark.parametrize(
    ("price", "stored"), [("29.90", "29.90"), ("35", "35.00"), ("0.5", "0.50")]
)
def test_prices_as_the_schema_writes_them_are_taken(client, price, stored):
    response = client.post(PRODUCTS, {**PRODUCT, "price": price})
    assert response.status_code == 201, response.json()
    assert response.json()["price"] == stored
