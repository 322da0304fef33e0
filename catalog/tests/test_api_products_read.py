"""Reading products through the API: the list with its variants, pages, filters, search and
ordering; a product; and queries that do not grow with the page size."""

import pytest

from catalog.models import Product
from catalog.tests.api_products_support import URL, detail

pytestmark = pytest.mark.django_db


def names(response):
    return [product["name"] for product in response.json()["results"]]


def test_the_currency_is_the_store_setting(writer, make_product, settings):
    settings.STORE_CURRENCY = "SEK"
    product = make_product()
    assert writer.get(detail(product.pk)).json()["currency"] == "SEK"


def test_list_embeds_variants_and_paginates(reader, make_product):
    for number in range(3):
        make_product(name=f"Tee {number}")

    response = reader.get(URL, {"page_size": 2})

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 3
    assert body["previous"] is None
    assert body["next"].endswith("?page=2&page_size=2")
    assert [p["name"] for p in body["results"]] == ["Tee 2", "Tee 1"]
    assert [v["size"] for v in body["results"][0]["variants"]] == ["S-M", "L-XL"]
    second = reader.get(URL, {"page_size": 2, "page": 2}).json()
    assert [p["name"] for p in second["results"]] == ["Tee 0"]


def test_pages_hold_at_most_100_products(reader):
    Product.objects.bulk_create(
        Product(category="Tees", name=f"Tee {n}", color="Black", price="10.00", collection="FW24")
        for n in range(105)
    )
    body = reader.get(URL, {"page_size": 100}).json()
    assert (body["count"], len(body["results"])) == (105, 100)
    assert body["next"].endswith("page=2&page_size=100")
    response = reader.get(URL, {"page_size": 101})
    assert response.status_code == 400
    assert response.json()["error"]["details"] == {
        "page_size": ["A page size is a whole number from 1 to 100."]
    }


def test_a_page_past_the_end_is_not_found(reader, make_product):
    make_product()
    response = reader.get(URL, {"page": 5})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_pages_never_repeat_or_skip_rows_when_prices_tie(reader, make_product):
    ids = {make_product(name=f"Tee {n}", price="10.00").pk for n in range(7)}
    seen = []
    for page in (1, 2, 3, 4):
        response = reader.get(URL, {"ordering": "price", "page_size": 2, "page": page})
        seen += [product["id"] for product in response.json()["results"]]
    assert sorted(seen) == sorted(ids)
    assert seen == sorted(seen)


def test_archived_products_are_hidden_unless_asked_for(reader, make_product):
    make_product(name="Live")
    archived = make_product(name="Old", is_active=False)

    assert names(reader.get(URL)) == ["Live"]
    assert names(reader.get(URL, {"active": "false"})) == ["Old"]
    assert sorted(names(reader.get(URL, {"active": "all"}))) == ["Live", "Old"]
    # A detail answers for an archived product too.
    assert reader.get(detail(archived.pk)).json()["is_active"] is False


@pytest.fixture
def catalog(make_product):
    make_product(
        name="Black Tee",
        category="Tees",
        color="Black",
        price="20.00",
        collection="FW24",
        stock={"S-M": 3, "L-XL": 0},
    )
    make_product(
        name="White Tee",
        category="Tees",
        color="White",
        price="25.00",
        collection="SS25",
        stock={"S-M": 0, "L-XL": 4},
    )
    make_product(
        name="Grey Sweater",
        category="Sweaters",
        color="Grey",
        price="80.00",
        collection="FW24",
        stock={"One Size": 2},
    )
    make_product(
        name="Khaki Chino",
        category="Pants",
        color="Khaki",
        price="60.00",
        collection="SS25",
        stock={"S-M": 0, "L-XL": 0},
    )


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"category": "Tees"}, ["Black Tee", "White Tee"]),
        ({"category": ["Tees", "Pants"]}, ["Black Tee", "Khaki Chino", "White Tee"]),
        ({"collection": "ss25"}, ["Khaki Chino", "White Tee"]),
        ({"color": "grey"}, ["Grey Sweater"]),
        ({"price_min": "25", "price_max": "60"}, ["Khaki Chino", "White Tee"]),
        ({"size": "One Size"}, ["Grey Sweater"]),
        ({"in_stock": "true"}, ["Black Tee", "Grey Sweater", "White Tee"]),
        ({"in_stock": "false"}, ["Khaki Chino"]),
        # The L-XL itself must be in stock, not just some size of the product.
        ({"size": "L-XL", "in_stock": "true"}, ["White Tee"]),
        ({"size": "L-XL", "in_stock": "false"}, ["Black Tee", "Khaki Chino"]),
        ({"search": "tee"}, ["Black Tee", "White Tee"]),
        ({"search": "khaki"}, ["Khaki Chino"]),
    ],
)
def test_filters(reader, catalog, params, expected):
    response = reader.get(URL, params)
    assert response.status_code == 200
    assert sorted(names(response)) == expected


def test_search_finds_a_product_by_sku(reader, make_product):
    product = make_product(name="Chino", stock={"S-M": 1})
    make_product(name="Other")
    sku = product.variants.get().sku
    assert names(reader.get(URL, {"search": sku.lower()})) == ["Chino"]


@pytest.mark.parametrize(
    ("ordering", "expected"),
    [
        ("price", ["Black Tee", "White Tee", "Khaki Chino", "Grey Sweater"]),
        ("-price", ["Grey Sweater", "Khaki Chino", "White Tee", "Black Tee"]),
        ("name", ["Black Tee", "Grey Sweater", "Khaki Chino", "White Tee"]),
        ("created", ["Black Tee", "White Tee", "Grey Sweater", "Khaki Chino"]),
        ("-created", ["Khaki Chino", "Grey Sweater", "White Tee", "Black Tee"]),
    ],
)
def test_ordering(reader, catalog, ordering, expected):
    assert names(reader.get(URL, {"ordering": ordering})) == expected


@pytest.mark.parametrize(
    "params",
    [
        {"category": "Hats"},
        {"size": "XXL"},
        {"in_stock": "maybe"},
        {"price_min": "cheap"},
        {"ordering": "sku"},
        {"active": "sometimes"},
    ],
)
def test_bad_filter_values_are_validation_errors(reader, params):
    response = reader.get(URL, params)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert list(error["details"]) == list(params)


def test_retrieve(reader, make_product):
    product = make_product()
    response = reader.get(detail(product.pk))
    assert response.status_code == 200
    assert response.json()["id"] == product.pk
    assert reader.get(detail(product.pk + 100)).status_code == 404


def test_list_queries_do_not_grow_with_the_page_size(
    reader, make_product, django_assert_num_queries
):
    for number in range(30):
        make_product(name=f"Tee {number}")
    # API key, page of products, count (there are more), their variants.
    with django_assert_num_queries(4):
        assert len(reader.get(URL, {"page_size": 5}).json()["results"]) == 5
    with django_assert_num_queries(4):
        page = reader.get(URL, {"page_size": 29}).json()
    assert (len(page["results"]), page["count"]) == (29, 30)
    with django_assert_num_queries(4):
        page = reader.get(URL, {"page_size": 30}).json()
    assert (len(page["results"]), page["count"], page["next"]) == (30, 30, None)
    # Filters add conditions, not queries.
    with django_assert_num_queries(4):
        page = reader.get(
            URL, {"page_size": 30, "size": "L-XL", "in_stock": "false", "search": "tee"}
        ).json()
    assert page["count"] == len(page["results"]) == 30
    with django_assert_num_queries(4):
        page = reader.get(URL, {"page_size": 10, "search": "tee"}).json()
    assert (page["count"], len(page["results"])) == (30, 10)


def test_detail_queries(reader, make_product, django_assert_num_queries):
    product = make_product()
    with django_assert_num_queries(3):  # API key, product, its variants
        reader.get(detail(product.pk))


def test_staff_list_queries_do_not_grow_with_the_page_size(
    manager_client, make_product, django_assert_num_queries
):
    for number in range(12):
        make_product(name=f"Tee {number}")
    # Session, user, the user's and the groups' permissions, products, count, variants.
    with django_assert_num_queries(7):
        manager_client.get(URL, {"page_size": 2})
    with django_assert_num_queries(7):
        manager_client.get(URL, {"page_size": 12})


def test_staff_detail_queries(manager_client, make_product, django_assert_num_queries):
    product = make_product()
    # Session, user, the user's and the groups' permissions, product, variants.
    with django_assert_num_queries(6):
        manager_client.get(detail(product.pk))
