"""One policy for query strings, on every endpoint: unknown, empty and undecodable parameters
are refused by name, and values are compared without regard to case."""

import datetime

import pytest

from conftest import TEST_ACTOR
from core.api.models import Scope
from core.api.tests.support import (
    MOVEMENTS,
    ORDERS,
    PRODUCTS,
    VARIANTS,
    assert_invalid,
)

pytestmark = pytest.mark.django_db

EMPTY = "This parameter is empty; give it a value or leave it out."


@pytest.fixture
def client(key_client):
    return key_client(*Scope.values)


@pytest.fixture
def product(make_product):
    return make_product(stock={"S-M": 5, "L-XL": 0})


@pytest.mark.parametrize("url", [PRODUCTS, VARIANTS])
@pytest.mark.parametrize("ordering", ["price,", ",price", "price,,name", ",", " ", "price, "])
def test_an_empty_ordering_key_is_a_validation_error(client, product, url, ordering):
    ordering = ordering.replace("price", "sku" if url == VARIANTS else "price")
    ordering = ordering.replace("name", "created")
    error = assert_invalid(client.get(url, {"ordering": ordering}), "ordering")
    if ordering.strip():
        assert error["details"]["ordering"] == [
            "An ordering key is empty; separate the keys with single commas, e.g. price,-name."
        ]


@pytest.mark.parametrize(
    ("url", "parameter"),
    [
        (PRODUCTS, "active"),
        (PRODUCTS, "in_stock"),
        (PRODUCTS, "search"),
        (PRODUCTS, "category"),
        (PRODUCTS, "page"),
        (PRODUCTS, "page_size"),
        (PRODUCTS, "format"),
        (VARIANTS, "sku"),
        (MOVEMENTS, "created_after"),
        (MOVEMENTS, "cursor"),
        (ORDERS, "status"),
        ("/api/v1/reports/sales/", "date_from"),
    ],
)
@pytest.mark.parametrize("value", ["", "  "])
def test_an_empty_query_value_is_a_validation_error(client, product, url, parameter, value):
    error = assert_invalid(client.get(url, {parameter: value}), parameter)
    assert error["details"][parameter] == [EMPTY]


def test_an_empty_value_among_others_is_refused_too(client, product):
    error = assert_invalid(client.get(PRODUCTS, {"category": ["Tees", ""]}), "category")
    assert error["details"]["category"] == [EMPTY]


@pytest.mark.parametrize("path", ["products/{product}/", "variants/{variant}/"])
def test_a_detail_refuses_unknown_query_parameters(client, product, path):
    url = "/api/v1/" + path.format(product=product.pk, variant=product.variants.first().pk)
    error = assert_invalid(client.get(url, {"fields": "name"}), "fields")
    assert error["details"]["fields"] == [
        "Unknown query parameter. This endpoint takes: format, location."
    ]
    assert client.get(url, {"format": "json"}).status_code == 200


def test_a_write_refuses_unknown_query_parameters_and_changes_nothing(client, product):
    variant = product.variants.get(size="S-M")
    response = client.post(
        f"{VARIANTS}{variant.pk}/adjust/?dry_run=true",
        {"delta": 1, "reason": "received"},
        format="json",
    )
    assert_invalid(response, "dry_run")
    variant.refresh_from_db()
    assert variant.quantity == 5


def test_an_order_action_refuses_unknown_query_parameters(client, product):
    order = client.post(
        ORDERS,
        {"lines": [{"sku": product.variants.get(size="S-M").sku, "quantity": 1}]},
        format="json",
    ).json()
    assert_invalid(client.post(f"{ORDERS}{order['id']}/pay/?force=1"), "force")
    assert client.get(f"{ORDERS}{order['id']}/").json()["status"] == "placed"


# Case


def _names(client, url, query, key="name"):
    response = client.get(url, query)
    assert response.status_code == 200, response.json()
    return [row[key] for row in response.json()["results"]]


@pytest.mark.parametrize(
    "query",
    [
        {"category": "tees"},
        {"category": "TEES"},
        {"size": "l-xl"},
        {"size": "L-xl", "in_stock": "TRUE"},
        {"collection": "fw24"},
        {"color": "BLACK"},
        {"search": "TEE"},
        {"active": "TRUE"},
        {"ordering": "-PRICE"},
    ],
)
def test_product_filters_match_in_any_case(client, make_product, query):
    make_product(name="Tee", category="Tees", color="Black", collection="FW24", stock={"L-XL": 2})
    make_product(name="Chino", category="Pants", color="Khaki", collection="SS25", stock={"S-M": 1})
    expected = ["Chino", "Tee"] if "active" in query else ["Tee"]
    if "ordering" in query:
        expected = ["Tee", "Chino"]  # same price: newest first by id
    assert sorted(_names(client, PRODUCTS, query)) == sorted(expected)


def test_variant_and_movement_filters_match_in_any_case(client, make_product):
    variant = make_product(stock={"S-M": 5}).variants.get()
    assert _names(client, VARIANTS, {"size": "s-m"}, "sku") == [variant.sku]
    assert _names(client, VARIANTS, {"sku": variant.sku.lower()}, "sku") == [variant.sku]
    assert _names(client, VARIANTS, {"ordering": "-SKU"}, "sku") == [variant.sku]
    assert _names(client, MOVEMENTS, {"reason": "INITIAL"}, "reason") == ["initial"]
    assert _names(client, MOVEMENTS, {"actor": TEST_ACTOR.name.upper()}, "sku") == [variant.sku]


def test_order_filters_match_in_any_case(client, make_product):
    sku = make_product(stock={"S-M": 5}).variants.get().sku
    line = {"sku": sku, "quantity": 1}
    client.post(ORDERS, {"lines": [line], "customer_reference": "Web-8841"}, format="json")
    for query in ({"customer_reference": "WEB-8841"}, {"status": "PLACED"}):
        assert _names(client, ORDERS, query, "customer_reference") == ["Web-8841"]


@pytest.mark.parametrize(
    ("url", "query", "parameter"),
    [(PRODUCTS, {"category": "Hats"}, "category"), (ORDERS, {"status": "lost"}, "status")],
)
def test_an_unknown_choice_in_any_case_is_still_an_error(client, url, query, parameter):
    assert_invalid(client.get(url, query), parameter)


# Times


@pytest.mark.parametrize(
    "offset", ["+23:00", "-23:59", "+16:00", "+05:30:45", "+00:00:00.5", "+23:59:59.999999"]
)
@pytest.mark.parametrize("url", [MOVEMENTS, ORDERS])
def test_any_offset_python_reads_is_a_time(client, product, url, offset):
    # PostgreSQL refuses offsets past 15:59 in a query: the time reaches it in UTC.
    response = client.get(url, {"created_after": f"2024-01-01T00:00:00{offset}"})
    assert response.status_code == 200, response.json()


def test_a_time_after_an_offset_is_compared_in_utc(client, product):
    created = product.variants.get(size="S-M").movements.get().created_at
    just_before = (created - datetime.timedelta(seconds=1)).astimezone(
        datetime.timezone(datetime.timedelta(hours=23))
    )
    assert _names(client, MOVEMENTS, {"created_after": just_before.isoformat()}, "reason") == [
        "initial"
    ]
    assert _names(client, MOVEMENTS, {"created_before": just_before.isoformat()}, "reason") == []


@pytest.mark.parametrize(
    "value", ["2024-01-01T00:00:00+24:00", "2024-01-01T00:00:00+1:00", "2024-01-01T00:00:00 01:00"]
)
def test_an_offset_that_is_not_one_names_the_parameter(client, value):
    error = assert_invalid(client.get(MOVEMENTS, {"created_after": value}), "created_after")
    assert error["details"]["created_after"] == ["Enter a valid date/time."]


@pytest.mark.parametrize(
    ("url", "query", "parameter"),
    [
        (PRODUCTS, "in_stock=false&in_stock=true", "in_stock"),
        (PRODUCTS, "page_size=1000&page_size=10", "page_size"),
        (PRODUCTS, "page=1&page=2", "page"),
        (VARIANTS, "sku=A&sku=B", "sku"),
        (MOVEMENTS, "cursor=abc&cursor=def", "cursor"),
        ("/api/v1/reports/sales/", "date_to=2026-01-01&date_to=2026-02-01", "date_to"),
        ("detail", "format=json&format=json", "format"),
    ],
)
def test_a_parameter_given_twice_is_refused_not_its_last_value_taken(
    client, product, url, query, parameter
):
    url = f"{PRODUCTS}{product.pk}/" if url == "detail" else url
    error = assert_invalid(client.get(f"{url}?{query}"), parameter)
    assert error["details"][parameter] == [
        "This parameter is given more than once; it takes one value."
    ]


def test_a_choice_list_takes_several_values(client, make_product):
    make_product(name="Tee", category="Tees")
    make_product(name="Chino", category="Pants")
    response = client.get(f"{PRODUCTS}?category=Tees&category=Pants")
    assert sorted(p["name"] for p in response.json()["results"]) == ["Chino", "Tee"]
