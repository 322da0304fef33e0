"""Bad input never reaches a 500 or an HTML page: every one gets a 4xx in the error envelope,
with a documented code, and changes nothing."""

import json

import pytest

from catalog.models import Product, Variant
from core.api.models import Scope
from core.api.tests.support import (
    MOVEMENTS,
    ORDERS,
    PRODUCT,
    PRODUCTS,
    VARIANTS,
    assert_error,
    assert_invalid,
)
from orders.models import Order
from stock.models import StockMovement

pytestmark = pytest.mark.django_db


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


def adjust_url(variant):
    return f"{VARIANTS}{variant.pk}/adjust/"


def count_url(variant):
    return f"{VARIANTS}{variant.pk}/count/"


# Bodies


@pytest.mark.parametrize(
    "body",
    [
        "{not json",
        '{"name": "Tee",}',
        "{'name': 'Tee'}",
        '{"name": "Tee"',
        '{"price": NaN}',
        '{"price": Infinity}',
        "\ufeff{}",
        '{"name": "\\ud800"',
    ],
)
def test_malformed_json_is_a_parse_error(client, unchanged, body):
    assert_error(
        client.post(PRODUCTS, data=body, content_type="application/json"), 400, "parse_error"
    )


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/xml",
        "text/html",
        "application/vnd.api+json",
        "",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
    ],
)
def test_a_body_that_is_not_json_is_unsupported(client, unchanged, content_type):
    # Forms too: the API reads JSON, where every value has one type (see "Types" in the README).
    response = client.generic("POST", PRODUCTS, json.dumps(PRODUCT), content_type=content_type)
    error = assert_error(response, 415, "unsupported_media_type")
    assert "application/json" in error["message"] or content_type == ""


def test_a_form_is_unsupported_on_every_write(client, unchanged, variant):
    form = "delta=1&reason=received"
    for url in (adjust_url(variant), ORDERS, PRODUCTS):
        response = client.post(url, data=form, content_type="application/x-www-form-urlencoded")
        assert_error(response, 415, "unsupported_media_type")


@pytest.mark.parametrize("body", [b'{"name": "\xff\xfe"}', '{"name": "x"}'.encode("utf-16")])
def test_a_json_body_that_is_not_utf8_is_a_parse_error(client, unchanged, body):
    response = client.post(PRODUCTS, data=body, content_type="application/json")
    assert_error(response, 400, "parse_error")


def test_json_is_read_as_utf8_whatever_charset_the_client_names(client):
    body = json.dumps({**PRODUCT, "name": "Café"}, ensure_ascii=False).encode()
    response = client.post(PRODUCTS, data=body, content_type="application/json; charset=latin-1")
    assert response.status_code == 201, response.content
    assert response.json()["name"] == "Café"


@pytest.mark.parametrize(
    "body", ["[" * 100_000, '{"a":' * 100_000 + "1" + "}" * 100_000, '{"lines": ' + "[" * 50_000]
)
def test_deeply_nested_json_is_a_parse_error(client, unchanged, body):
    response = client.post(ORDERS, data=body, content_type="application/json")
    assert_error(response, 400, "parse_error")


def test_nested_json_where_a_value_is_expected_is_a_validation_error(client, unchanged):
    nested = json.loads("[" * 500 + "]" * 500)
    assert_invalid(client.post(PRODUCTS, {**PRODUCT, "name": nested}, format="json"), "name")


@pytest.mark.parametrize(
    ("url", "body"),
    [
        (PRODUCTS, {**PRODUCT, "name": "x" * 2_000_000}),
        (ORDERS, {"lines": [{"sku": "X", "quantity": 1}] * 100_000}),
        ("adjust", {"delta": 1, "reason": "received", "note": "x" * 2_000_000}),
    ],
)
def test_a_body_over_the_limit_is_payload_too_large(client, unchanged, variant, url, body):
    url = adjust_url(variant) if url == "adjust" else url
    response = client.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="big-1")
    error = assert_error(response, 413, "payload_too_large")
    assert error["details"] is None


@pytest.mark.parametrize("body", ['"hello"', "[]", "[{}]", "5", "true", "null"])
@pytest.mark.parametrize("url", [PRODUCTS, VARIANTS, ORDERS, "adjust", "count"])
def test_a_body_that_is_not_an_object_is_a_validation_error(client, unchanged, variant, url, body):
    url = {"adjust": adjust_url(variant), "count": count_url(variant)}.get(url, url)
    response = client.post(url, data=body, content_type="application/json")
    assert_invalid(response, "non_field_errors")


@pytest.mark.parametrize("lines", ["x", {"sku": "X", "quantity": 1}, ["x"], [[1]], [None], [], 5])
def test_order_lines_of_the_wrong_shape_are_a_validation_error(client, unchanged, lines):
    assert_invalid(client.post(ORDERS, {"lines": lines}, format="json"), "lines")


@pytest.mark.parametrize("variants", ["x", {"size": "S-M"}, ["x"], [["S-M"]], [None]])
def test_product_variants_of_the_wrong_shape_are_a_validation_error(client, unchanged, variants):
    response = client.post(PRODUCTS, {**PRODUCT, "variants": variants}, format="json")
    assert_invalid(response, "variants")


@pytest.mark.parametrize(
    ("url", "body", "fields"),
    [
        (PRODUCTS, dict.fromkeys([*PRODUCT, "is_active"]), [*PRODUCT, "is_active"]),
        (
            VARIANTS,
            dict.fromkeys(["product", "size", "sku", "barcode", "quantity", "low_stock_threshold"]),
            ["product", "size", "quantity", "low_stock_threshold"],
        ),
        (ORDERS, {"lines": None, "customer_reference": None, "note": None}, ["lines", "customer_reference", "note"]),
        (ORDERS, {"lines": [{"variant": None, "sku": None, "quantity": None}]}, ["lines"]),
        ("adjust", dict.fromkeys(["delta", "reason", "note", "reference"]), ["delta", "reason", "note", "reference"]),
        ("count", dict.fromkeys(["quantity", "expected_quantity", "note"]), ["quantity", "note"]),
        ("patch-product", dict.fromkeys([*PRODUCT, "is_active"]), [*PRODUCT, "is_active"]),
        ("patch-variant", {"low_stock_threshold": None, "quantity": None}, ["low_stock_threshold", "quantity"]),
    ],
)  # fmt: skip
def test_null_where_a_value_is_required_is_a_validation_error(
    client, unchanged, variant, url, body, fields
):
    # (sku, barcode and expected_quantity may be null: they mean "none".)
    if url.startswith("patch"):
        target = variant.product if url == "patch-product" else variant
        path = f"{PRODUCTS if url == 'patch-product' else VARIANTS}{target.pk}/"
        response = client.patch(path, body, format="json")
    else:
        url = {"adjust": adjust_url(variant), "count": count_url(variant)}.get(url, url)
        response = client.post(url, body, format="json")
    assert_invalid(response, *fields)


# Values


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


# Query strings


@pytest.mark.parametrize("page", ["0", "-1", "abc", "1.5", "1e3", "%00", "%C2%B2"])
def test_a_page_that_is_not_a_whole_number_from_1_is_a_validation_error(client, page):
    error = assert_invalid(client.get(f"{PRODUCTS}?page={page}"), "page")
    assert error["details"] == {"page": ['A page is a whole number from 1, or "last".']}


@pytest.mark.parametrize("page", ["2", str(10**30)])
def test_a_page_past_the_last_is_not_found(client, variant, page):
    error = assert_error(client.get(PRODUCTS, {"page": page}), 404, "not_found")
    assert error["message"] == "Invalid page."


def test_the_last_page_is_a_page(client, variant):
    assert client.get(PRODUCTS, {"page": "last"}).json()["count"] == 1


@pytest.mark.parametrize("url", [PRODUCTS, MOVEMENTS, ORDERS, "movements"])
@pytest.mark.parametrize("size", ["0", "-5", "abc", "1.5", "%00", "101", "1000", str(10**30)])
def test_a_page_size_that_is_not_a_whole_number_from_1_to_100_is_a_validation_error(
    client, variant, url, size
):
    url = f"{VARIANTS}{variant.pk}/movements/" if url == "movements" else url
    error = assert_invalid(client.get(f"{url}?page_size={size}"), "page_size")
    assert error["details"] == {"page_size": ["A page size is a whole number from 1 to 100."]}


@pytest.mark.parametrize("url", [PRODUCTS, MOVEMENTS])
def test_the_largest_page_size_is_a_page_size(client, variant, url):
    response = client.get(url, {"page_size": 100})
    assert response.status_code == 200
    assert len(response.json()["results"]) == 1


@pytest.mark.parametrize(
    "cursor", ["zzz", "cD1hYmM=", "cD0AYWJj", "%00", "cj0xJnA9LTE=", "cD0lQzIlQjI=", "bz0lQzIlQjI="]
)
@pytest.mark.parametrize("url", [MOVEMENTS, ORDERS])
def test_an_invalid_cursor_is_not_found(client, url, cursor):
    response = client.get(f"{url}?cursor={cursor}")
    assert assert_error(response, 404, "not_found")["message"] == "Invalid cursor"


@pytest.mark.parametrize(
    ("url", "query", "unknown"),
    [
        (PRODUCTS, "colour=red", ["colour"]),
        (PRODUCTS, "category=Tees&sizes=S-M&in_stock=true&min_price=1", ["min_price", "sizes"]),
        (VARIANTS, "product_id=1", ["product_id"]),
        (MOVEMENTS, "page=2", ["page"]),
        (ORDERS, "state=placed", ["state"]),
        (ORDERS, "limit=5&offset=5", ["limit", "offset"]),
        ("movements", "reason=sale", ["reason"]),
    ],
)
def test_an_unknown_query_parameter_on_a_list_is_a_validation_error(
    client, variant, url, query, unknown
):
    # Silently ignoring a misspelt filter would answer every row.
    url = f"{VARIANTS}{variant.pk}/movements/" if url == "movements" else url
    error = assert_invalid(client.get(f"{url}?{query}"), *unknown)
    assert error["details"][unknown[0]][0].startswith("Unknown query parameter. This list takes: ")


def test_the_message_lists_what_a_list_takes(client):
    details = client.get(ORDERS, {"colour": "red"}).json()["error"]["details"]
    assert details == {
        "colour": [
            "Unknown query parameter. This list takes: created_after, created_before, cursor, "
            "customer_reference, format, page_size, status."
        ]
    }


def test_unknown_parameters_and_invalid_filters_are_reported_together(client):
    response = client.get(PRODUCTS, {"colour": "red", "in_stock": "maybe", "page_size": 5})
    assert_invalid(response, "colour", "in_stock")


@pytest.mark.parametrize(
    ("url", "query"),
    [
        (PRODUCTS, {"category": ["Tees", "Pants"], "collection": "fw24", "color": "Black", "size": "S-M",
                    "in_stock": "true", "price_min": "1", "price_max": "99.5", "active": "all",
                    "search": "tee", "ordering": "-price", "page": "1", "page_size": "5", "format": "json"}),
        (VARIANTS, {"product": "1", "sku": "x", "barcode": "4006381333931", "size": "S-M", "in_stock": "1",
                    "low_stock": "0", "active": "false", "search": "x", "ordering": "sku", "page": "1"}),
        (MOVEMENTS, {"variant": "1", "product": "1", "reason": ["initial", "sale"], "actor": "x",
                     "created_after": "2024-01-01T00:00:00Z", "created_before": "2030-01-01", "page_size": "5"}),
        (ORDERS, {"status": ["placed", "paid"], "created_after": "2024-01-01", "customer_reference": "x",
                  "page_size": "5", "format": "json"}),
    ],
)  # fmt: skip
def test_every_documented_parameter_is_known(client, url, query):
    assert client.get(url, query).status_code == 200


@pytest.mark.parametrize(
    ("url", "query", "parameter"),
    [
        (PRODUCTS, "category=Hats", "category"),
        (PRODUCTS, "size=XXL", "size"),
        (PRODUCTS, "in_stock=maybe", "in_stock"),
        (PRODUCTS, "active=maybe", "active"),
        (PRODUCTS, "ordering=secret", "ordering"),
        (PRODUCTS, "ordering=-id,hashed_key", "ordering"),
        (PRODUCTS, "price_min=abc", "price_min"),
        (PRODUCTS, "price_min=NaN", "price_min"),
        (PRODUCTS, "price_max=Infinity", "price_max"),
        (PRODUCTS, "price_max=1e999999", "price_max"),
        (PRODUCTS, "collection=FALL2024", "collection"),
        (VARIANTS, "low_stock=yes", "low_stock"),
        (VARIANTS, "product=abc", "product"),
        (VARIANTS, "product=0", "product"),
        (MOVEMENTS, "reason=theft", "reason"),
        (MOVEMENTS, "created_after=yesterday", "created_after"),
        (MOVEMENTS, "created_before=2024-13-45", "created_before"),
        (MOVEMENTS, "created_after=9999-12-31T23:59:59-14:00", "created_after"),
        (ORDERS, "status=lost", "status"),
        (ORDERS, "created_after=0000-01-01", "created_after"),
    ],
)
def test_an_invalid_filter_value_is_a_validation_error(client, url, query, parameter):
    assert_invalid(client.get(f"{url}?{query}"), parameter)


@pytest.mark.parametrize(
    ("query", "parameter"),
    [("search=%ff%fe", "search"), ("color=caf%e9", "color"), ("%ff=1", "\ufffd")],
)
def test_a_query_string_that_is_not_utf8_is_a_validation_error(client, query, parameter):
    error = assert_invalid(client.get(f"{PRODUCTS}?{query}"), parameter)
    assert error["details"][parameter] == ["This value is not valid UTF-8."]


@pytest.mark.parametrize(
    "path", ["/api/v1/products/%ff/", "/api/v1/%ff%fe/", "/api/v1/products/1%00/"]
)
def test_an_address_that_is_not_utf8_is_not_found(client, path):
    assert_error(client.get(path), 404, "not_found")


def test_filter_sets_share_nothing_between_requests():
    from django.http import QueryDict

    from catalog.api.filters import VariantFilter

    first = VariantFilter(QueryDict("sku=abc"))
    second = VariantFilter(QueryDict("sku=xyz"))
    assert first.filters["sku"] is not second.filters["sku"]
    assert first.filters["sku"] is not VariantFilter.base_filters["sku"]
    assert first.filters["sku"].parent is first
    assert second.filters["sku"].parent is second
    # A method filter calls its own filter set's method.
    assert first.filters["sku"].filter.f is first.filters["sku"]
    # The form class is built once per filter set.
    assert first.get_form_class() is second.get_form_class()
    assert first.is_valid()
    assert second.is_valid()
    assert first.form.cleaned_data["sku"] == "abc"
    assert second.form.cleaned_data["sku"] == "xyz"
