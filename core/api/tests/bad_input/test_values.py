"""Bad values: NUL characters, integers too large or not whole, quantities and prices out of
range, huge strings."""

import pytest

from core.api.tests.bad_input.support import adjust_url, count_url
from core.api.tests.support import (
    MOVEMENTS,
    ORDERS,
    PRODUCT,
    PRODUCTS,
    VARIANTS,
    assert_error,
    assert_invalid,
)

pytestmark = pytest.mark.django_db

NUL = "a\x00b"


@pytest.mark.parametrize(
    ("url", "body", "field"),
    [
        (PRODUCTS, lambda v: {**PRODUCT, "name": NUL}, "name"),
        (PRODUCTS, lambda v: {**PRODUCT, "color": NUL}, "color"),
        (PRODUCTS, lambda v: {**PRODUCT, "collection": "FW\x00"}, "collection"),
        (VARIANTS, lambda v: {"product": v.product_id, "size": "One Size", "sku": NUL}, "sku"),
        (VARIANTS, lambda v: {"product": v.product_id, "size": "One Size", "barcode": "\x00"}, "barcode"),
        (ORDERS, lambda v: {"lines": [{"sku": NUL, "quantity": 1}]}, "lines"),
        (ORDERS, lambda v: {"lines": [{"variant": v.pk, "quantity": 1}], "note": NUL}, "note"),
        ("adjust", lambda v: {"delta": 1, "reason": "received", "reference": NUL}, "reference"),
        ("count", lambda v: {"quantity": 5, "note": NUL}, "note"),
    ],
)  # fmt: skip
def test_nul_characters_in_a_body_are_a_validation_error(
    client, unchanged, variant, url, body, field
):
    # PostgreSQL cannot store NUL in text; the API says so field by field instead of failing.
    url = {"adjust": adjust_url(variant), "count": count_url(variant)}.get(url, url)
    assert_invalid(client.post(url, body(variant), format="json"), field)


@pytest.mark.parametrize(
    ("url", "parameter"),
    [
        (PRODUCTS, "search"),
        (PRODUCTS, "color"),
        (PRODUCTS, "collection"),
        (VARIANTS, "sku"),
        (VARIANTS, "barcode"),
        (MOVEMENTS, "actor"),
        (ORDERS, "customer_reference"),
    ],
)
def test_nul_characters_in_a_filter_are_a_validation_error(client, url, parameter):
    assert_invalid(client.get(url, {parameter: NUL}), parameter)


def test_nul_characters_in_a_parameter_name_are_an_unknown_parameter(client):
    assert_invalid(client.get(f"{PRODUCTS}?col%00or=red"), "col\x00or")


@pytest.mark.parametrize("number", [2**63, 2**64, -(2**63) - 1, 10**30])
def test_integers_beyond_64_bits_are_a_validation_error(client, unchanged, variant, number):
    lines = [{"variant": number, "quantity": 1}]
    assert_invalid(client.post(ORDERS, {"lines": lines}, format="json"), "lines")
    lines = [{"variant": variant.pk, "quantity": number}]
    assert_invalid(client.post(ORDERS, {"lines": lines}, format="json"), "lines")
    body = {"product": number, "size": "One Size"}
    assert_invalid(client.post(VARIANTS, body, format="json"), "product")
    body = {"delta": number, "reason": "correction"}
    assert_invalid(client.post(adjust_url(variant), body, format="json"), "delta")
    assert_invalid(client.get(VARIANTS, {"product": number}), "product")
    assert_invalid(client.get(MOVEMENTS, {"variant": number}), "variant")
    assert_error(client.get(f"{PRODUCTS}{number}/"), 404, "not_found")


def test_integers_beyond_python_s_digit_limit_are_a_client_error(client, unchanged, variant):
    digits = "9" * 5000
    body = f'{{"delta": {digits}, "reason": "received"}}'
    response = client.post(adjust_url(variant), data=body, content_type="application/json")
    assert_error(response, 400, "parse_error")
    response = client.post(
        adjust_url(variant), {"delta": digits, "reason": "received"}, format="json"
    )
    assert_invalid(response, "delta")
    assert_invalid(client.get(VARIANTS, {"product": digits}), "product")
    assert_invalid(client.get(PRODUCTS, {"page": digits}), "page")
    assert_invalid(client.get(PRODUCTS, {"page_size": digits}), "page_size")
    assert_invalid(client.get(PRODUCTS, {"price_min": digits}), "price_min")


@pytest.mark.parametrize("number", [1.0, 1.5, -1.0, 1e2, "1.0", "1.5", "1e2", True])
def test_numbers_that_are_not_whole_where_integers_are_expected(client, unchanged, variant, number):
    # 1.0 is refused too: a float id above 2**53 is not the id the client meant.
    orders = [
        {"lines": [{"variant": number, "quantity": 1}]},
        {"lines": [{"variant": variant.pk, "quantity": number}]},
    ]
    for body in orders:
        assert_invalid(client.post(ORDERS, body, format="json"), "lines")
    body = {"delta": number, "reason": "correction"}
    assert_invalid(client.post(adjust_url(variant), body, format="json"), "delta")
    assert_invalid(client.post(count_url(variant), {"quantity": number}, format="json"), "quantity")
    body = {"product": variant.product_id, "size": "One Size", "quantity": number}
    assert_invalid(client.post(VARIANTS, body, format="json"), "quantity")
    body = {"low_stock_threshold": number}
    assert_invalid(
        client.patch(f"{VARIANTS}{variant.pk}/", body, format="json"), "low_stock_threshold"
    )


def test_whole_numbers_as_strings_are_refused_by_type(client, unchanged, variant):
    response = client.post(adjust_url(variant), {"delta": "2", "reason": "received"}, format="json")
    error = assert_invalid(response, "delta")
    assert error["details"] == {"delta": ["Expected a whole number; got a string."]}


@pytest.mark.parametrize("quantity", [0, -1, -(10**6)])
def test_zero_and_negative_quantities_are_a_validation_error(client, unchanged, variant, quantity):
    lines = [{"variant": variant.pk, "quantity": quantity}]
    assert_invalid(client.post(ORDERS, {"lines": lines}, format="json"), "lines")
    body = {"product": variant.product_id, "size": "One Size", "quantity": -1}
    assert_invalid(client.post(VARIANTS, body, format="json"), "quantity")
    body = {**PRODUCT, "variants": [{"size": "S-M", "quantity": -1}]}
    assert_invalid(client.post(PRODUCTS, body, format="json"), "variants")
    assert_invalid(client.post(count_url(variant), {"quantity": -1}, format="json"), "quantity")
    body = {"delta": quantity, "reason": "received"}
    assert_invalid(client.post(adjust_url(variant), body, format="json"), "delta")


def test_a_return_of_zero_or_negative_quantities_is_a_validation_error(client, unchanged):
    for quantity in (0, -1, 1.5):
        body = {"lines": [{"line": 1, "quantity": quantity}]}
        response = client.post(f"{ORDERS}1/returns/", body, format="json")
        # The order does not exist: 404 before the body, or 400 for it; never 2xx or 5xx.
        assert response.status_code in (400, 404)
        assert_error(
            response,
            response.status_code,
            {400: "validation_error", 404: "not_found"}[response.status_code],
        )


@pytest.mark.parametrize(
    "price", [10**30, "1e999999999", "NaN", "Infinity", "-0.01", 0, 1e308, "abc"]
)
def test_prices_out_of_range_are_a_validation_error(client, unchanged, price):
    assert_invalid(client.post(PRODUCTS, {**PRODUCT, "price": price}, format="json"), "price")


def test_huge_strings_are_a_validation_error(client, unchanged, variant):
    assert_invalid(client.post(PRODUCTS, {**PRODUCT, "name": "x" * 500_000}, format="json"), "name")
    lines = [{"sku": "X" * 100_000, "quantity": 1}]
    assert_invalid(client.post(ORDERS, {"lines": lines}, format="json"), "lines")
    body = {"delta": 1, "reason": "received", "note": "x" * 100_000}
    assert_invalid(client.post(adjust_url(variant), body, format="json"), "note")


@pytest.mark.parametrize(
    ("url", "parameter"),
    [
        (PRODUCTS, "search"),
        (PRODUCTS, "color"),
        (VARIANTS, "search"),
        (VARIANTS, "sku"),
        (MOVEMENTS, "actor"),
        (ORDERS, "customer_reference"),
    ],
)
def test_huge_strings_in_a_filter_are_a_validation_error(client, url, parameter):
    # Not a 503: SQLite refuses a LIKE pattern this long as if the database had failed.
    assert_invalid(client.get(url, {parameter: "x" * 100_000}), parameter)
