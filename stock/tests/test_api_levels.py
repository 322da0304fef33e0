"""Where the stock is, over the API: each variant's level at each location, filtered, paged
in a stable order, in a constant number of queries, for every catalog reader."""

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from catalog.tests.support import answer_shape, documented_shape
from core.actors import system_actor
from orders.services import LineRequest, order_place
from stock.api.serializers import StockLevelSerializer
from stock.locations import location_create
from stock.models import Location
from stock.selectors import stock_level_list
from stock.services import stock_adjust

pytestmark = pytest.mark.django_db

LEVELS = "/api/v1/stock-levels/"
ACTOR = system_actor("test")


@pytest.fixture
def shelves(make_product, shop_key):
    """A tee in two sizes (S-M: 5 at MAIN, 2 of them committed to an order, 3 at STORE-01;
    L-XL: 1 at MAIN, below its threshold of 2) and a pant (4 at STORE-01 only)."""
    from core.api.authentication import api_key_actor

    store = location_create(code="STORE-01", name="Shop", kind="store")
    tee = make_product(name="Tee", stock={"S-M": 5, "L-XL": 1})
    pant = make_product(name="Pant", category="Pants", stock={"S-M": 0})
    small, large = tee.variants.get(size="S-M"), tee.variants.get(size="L-XL")
    pant_small = pant.variants.get()
    stock_adjust(variant_id=small.pk, delta=3, reason="received", actor=ACTOR, location=store)
    stock_adjust(variant_id=pant_small.pk, delta=4, reason="received", actor=ACTOR, location=store)
    order_place(lines=[LineRequest(variant_id=small.pk, quantity=2)], actor=api_key_actor(shop_key))
    return {"tee": tee, "pant": pant, "small": small, "large": large, "pant_small": pant_small}


def _row(variant, location, on_hand, committed, *, threshold=2):
    available = on_hand - committed
    return {
        "variant": variant.pk,
        "sku": variant.sku,
        "product": variant.product_id,
        "size": variant.size,
        "location": location,
        "on_hand": on_hand,
        "committed": committed,
        "available": available,
        "incoming": 0,
        "low_stock_threshold": threshold,
        "target": threshold + 1,
        "low_stock": available <= threshold,
        "settings": {"low_stock_threshold": None, "target": None},
    }


def test_every_level_by_variant_then_location(reader, shelves):
    response = reader.get(LEVELS)
    assert response.status_code == 200
    small, large, pant_small = shelves["small"], shelves["large"], shelves["pant_small"]
    assert response.json() == {
        "count": 4,
        "next": None,
        "previous": None,
        "results": [
            _row(small, "MAIN", 5, 2),
            _row(small, "STORE-01", 3, 0),
            _row(large, "MAIN", 1, 0),
            _row(pant_small, "STORE-01", 4, 0),
        ],
    }
    # A variant's quantity is what is available, summed over every location.
    small.refresh_from_db()
    assert small.quantity == 3 + 3


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"variant": "small"}, [("small", "MAIN"), ("small", "STORE-01")]),
        ({"product": "tee"}, [("small", "MAIN"), ("small", "STORE-01"), ("large", "MAIN")]),
        ({"sku": "small"}, [("small", "MAIN"), ("small", "STORE-01")]),
        ({"location": "store-01"}, [("small", "STORE-01"), ("pant_small", "STORE-01")]),
        ({"location": "NOWHERE"}, []),
        ({"low_stock": "true"}, [("large", "MAIN")]),
        (
            {"low_stock": "false"},
            [("small", "MAIN"), ("small", "STORE-01"), ("pant_small", "STORE-01")],
        ),
        ({"in_stock": "TRUE", "location": "main"}, [("small", "MAIN"), ("large", "MAIN")]),
        (
            {"product": "pant", "low_stock": "false", "in_stock": "true"},
            [("pant_small", "STORE-01")],
        ),
    ],
)
def test_filters(reader, shelves, params, expected):
    def value(key, name):
        if key == "sku":
            return shelves[name].sku.lower()
        return shelves[name].pk if name in shelves else name

    query = {key: value(key, name) for key, name in params.items()}
    rows = reader.get(LEVELS, query).json()["results"]
    by_id = {shelves[name].pk: name for name in ("small", "large", "pant_small")}
    assert [(by_id[row["variant"]], row["location"]) for row in rows] == expected


def test_in_stock_false_finds_levels_with_nothing_available(reader, shelves):
    large = shelves["large"]
    stock_adjust(variant_id=large.pk, delta=-1, reason="damaged", actor=ACTOR)
    rows = reader.get(LEVELS, {"in_stock": "false"}).json()["results"]
    assert rows == [_row(large, "MAIN", 0, 0)]


def test_levels_at_archived_locations_are_listed_empty(reader, writer, shelves):
    store = Location.objects.get(code="STORE-01")
    for variant, units in ((shelves["small"], 3), (shelves["pant_small"], 4)):
        stock_adjust(variant_id=variant.pk, delta=-units, reason="lost", actor=ACTOR,
                     location=store)  # fmt: skip
    assert writer.patch(f"/api/v1/locations/{store.pk}/", {"is_active": False}).status_code == 200
    rows = reader.get(LEVELS, {"location": "STORE-01"}).json()["results"]
    assert [(row["on_hand"], row["committed"]) for row in rows] == [(0, 0), (0, 0)]


def test_pages_in_a_stable_order(reader, shelves):
    seen, url = [], f"{LEVELS}?page_size=3"
    while url:
        body = reader.get(url).json()
        assert body["count"] == 4
        seen += [(row["variant"], row["location"]) for row in body["results"]]
        url = body["next"]
    assert seen == [
        (row["variant"], row["location"]) for row in reader.get(LEVELS).json()["results"]
    ]
    assert len(set(seen)) == 4


def test_a_page_costs_the_same_queries_however_many_levels_and_locations(
    reader, make_product, django_assert_num_queries
):
    tee = make_product(name="Tee", stock={"S-M": 1, "L-XL": 1, "One Size": 1})
    with django_assert_num_queries(3):  # the key, the count, the page
        assert len(reader.get(LEVELS).json()["results"]) == 3
    for n in range(4):
        shop = location_create(code=f"SHOP-{n}", name=f"Shop {n}", kind="store")
        for variant in tee.variants.all():
            stock_adjust(variant_id=variant.pk, delta=2, reason="received", actor=ACTOR,
                         location=shop)  # fmt: skip
    with django_assert_num_queries(3):
        assert len(reader.get(LEVELS).json()["results"]) == 15


@pytest.mark.parametrize(
    ("params", "details"),
    [
        ({"location": "X" * 17}, {"location": ["Ensure this value has at most 16 characters (it has 17)."]}),
        ({"in_stock": "maybe"}, {"in_stock": ["Enter true or false."]}),
        ({"variant": "small"}, {"variant": ["Enter a whole number."]}),
        ({"ordering": "sku"}, {"ordering": [
            "Unknown query parameter. This list takes: format, in_stock, location, low_stock, "
            "page, page_size, product, sku, variant."
        ]}),
    ],
)  # fmt: skip
def test_bad_filters_are_refused_by_name(reader, params, details):
    response = reader.get(LEVELS, params)
    assert response.status_code == 400
    assert response.json()["error"]["details"] == details


def test_the_answer_has_the_documented_keys(shelves):
    documented = documented_shape(StockLevelSerializer())
    rows = StockLevelSerializer(stock_level_list(), many=True).data
    assert rows
    assert all(answer_shape(row) == documented for row in rows)


@pytest.mark.parametrize(
    ("caller", "status"),
    [("anonymous", 401), ("read key", 200), ("store staff", 200), ("plain staff", 403)],
)
def test_every_catalog_reader_may_read_where_the_stock_is(caller, status, key_client, store_staff):
    client = key_client() if caller == "read key" else APIClient()
    if caller == "store staff":
        client.force_login(store_staff)
    if caller == "plain staff":
        client.force_login(User.objects.create_user("plain", password="pw", is_staff=True))
    assert client.get(LEVELS).status_code == status


def test_levels_are_read_only(writer):
    response = writer.post(LEVELS, {"variant": 1, "on_hand": 5}, format="json")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"
