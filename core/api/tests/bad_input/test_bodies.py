"""Bad bodies: malformed or non-UTF-8 JSON, other media types, too deep, too large, or of the
wrong shape."""

import json

import pytest

from core.api.tests.bad_input.support import adjust_url, count_url
from core.api.tests.support import ORDERS, PRODUCT, PRODUCTS, VARIANTS, assert_error, assert_invalid

pytestmark = pytest.mark.django_db


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
