"""Bad query strings: pages, page sizes and cursors out of range, unknown parameters, invalid
filter values, and query strings or addresses that are not UTF-8."""

import pytest

from core.api.tests.support import (
    LEVELS,
    LOCATIONS,
    MOVEMENTS,
    ORDERS,
    PRODUCTS,
    VARIANTS,
    assert_error,
    assert_invalid,
)

pytestmark = pytest.mark.django_db


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
            "customer_reference, format, location, page_size, status."
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
                     "created_after": "2024-01-01T00:00:00Z", "created_before": "2030-01-01", "page_size": "5",
                     "location": "main"}),
        (ORDERS, {"status": ["placed", "paid"], "created_after": "2024-01-01", "customer_reference": "x",
                  "page_size": "5", "format": "json", "location": "MAIN"}),
        (LEVELS, {"variant": "1", "product": "1", "sku": "x", "location": "main", "in_stock": "true",
                  "low_stock": "false", "page": "1", "page_size": "5"}),
        (LOCATIONS, {"kind": ["store", "WAREHOUSE"], "is_active": "true", "page": "1", "page_size": "5"}),
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
