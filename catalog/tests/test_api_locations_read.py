"""Reading the catalog at a location (``?location=CODE``): a variant's stock there (available,
on hand, committed, in stock, low), the stock filters there, its levels at every location on
its detail, refusals of an unknown or archived location, and queries that do not grow with the
number of locations. On every path: plain SQL (PostgreSQL), the ORM's rows, model instances."""

import pytest

from catalog.models import Product, Variant
from core.actors import system_actor
from core.api.authentication import api_key_actor
from orders.services import LineRequest, order_place
from stock.models import Location, LocationKind, StockLevel
from stock.selectors import location_default
from stock.services import stock_adjust

pytestmark = pytest.mark.django_db

PRODUCTS = "/api/v1/products/"
VARIANTS = "/api/v1/variants/"
ACTOR = system_actor("test")
# A level with nothing set, of a variant whose threshold is 2, and at most 2 available: low.
NONE_IN = {"incoming": 0}
LOW = {
    "low_stock_threshold": 2,
    "target": 3,
    "low_stock": True,
    "settings": {"low_stock_threshold": None, "target": None},
}

# The reads' three paths: every shortcut on (plain SQL on PostgreSQL), the ORM's rows, and
# model instances through the output serializers (docs/private-internals.md).
PATHS = {
    "sql": frozenset(),
    "rows": frozenset({"catalog-sql", "catalog-rows", "native-loaders"}),
    "instances": frozenset({"catalog-render", "catalog-sql", "sku-lookup"}),
}


@pytest.fixture(params=sorted(PATHS))
def path(request, settings):
    settings.SHORTCUTS_OFF = PATHS[request.param]
    return request.param


def _location(code, kind=LocationKind.STORE, **fields):
    return Location.objects.create(code=code, name=f"{code} shop", kind=kind, **fields)


def _receive(variant, quantity, location):
    stock_adjust(
        variant_id=variant.pk, delta=quantity, reason="received", actor=ACTOR, location=location
    )


@pytest.fixture
def shops(make_product, shop_key):
    """MAIN (the default), STORE-01, WEB (empty) and OLD (archived). The tee's S-M: 5 at MAIN,
    4 at STORE-01; its L-XL: only 3 at STORE-01, 1 of them committed to an open order; the
    sweater: 4 at MAIN."""
    main = location_default()
    store = _location("STORE-01")
    _location("WEB", kind=LocationKind.ONLINE)
    _location("OLD", is_active=False)
    tee = make_product(name="Tee", stock={"S-M": 5, "L-XL": 0})
    sweater = make_product(name="Sweater", category="Sweaters", stock={"One Size": 4})
    small, large = tee.variants.get(size="S-M"), tee.variants.get(size="L-XL")
    _receive(small, 4, store)
    _receive(large, 3, store)
    order_place(
        lines=[LineRequest(variant_id=large.pk, quantity=1)],
        actor=api_key_actor(shop_key),
        location=store,
    )
    return {
        "main": main,
        "store": store,
        "tee": tee,
        "sweater": sweater,
        "small": small,
        "large": large,
        "one_size": sweater.variants.get(),
    }


def _stock(quantity, committed, *, threshold=2):
    return {
        "quantity": quantity,
        "in_stock": quantity > 0,
        "low_stock": quantity <= threshold,
        "on_hand": quantity + committed,
        "committed": committed,
    }


def _summary(variant, quantity, committed):
    return {
        "id": variant.pk,
        "size": variant.size,
        "sku": variant.sku,
        "barcode": None,
        **_stock(quantity, committed),
    }


def _product(product, body, variants):
    return {
        "id": product.pk,
        "category": product.category,
        "name": product.name,
        "color": "Black",
        "price": "29.90",
        "currency": "EUR",
        "collection": "FW24",
        "is_active": True,
        "variants": variants,
        "created_at": body["created_at"],
        "updated_at": body["updated_at"],
    }


def _variant(variant, body, quantity, committed, *, product_name):
    return {
        **_summary(variant, quantity, committed),
        "product": variant.product_id,
        "product_name": product_name,
        "low_stock_threshold": 2,
        "created_at": body["created_at"],
        "updated_at": body["updated_at"],
    }


def _detail(reader, url, params=None):
    response = reader.get(url, params or {})
    assert response.status_code == 200, response.json()
    return response.json()


def test_a_product_shows_its_totals_without_a_location(reader, shops, path):
    tee = shops["tee"]
    body = _detail(reader, f"{PRODUCTS}{tee.pk}/")
    # On hand over every location: S-M 5 + 4, L-XL 3 of which 1 committed.
    assert body == _product(
        tee, body, [_summary(shops["small"], 9, 0), _summary(shops["large"], 2, 1)]
    )


@pytest.mark.parametrize("code", ["STORE-01", "store-01"])
def test_a_product_at_a_location_shows_its_stock_there(reader, shops, path, code):
    tee = shops["tee"]
    body = _detail(reader, f"{PRODUCTS}{tee.pk}/", {"location": code})
    assert body == _product(
        tee, body, [_summary(shops["small"], 4, 0), _summary(shops["large"], 2, 1)]
    )
    at_main = _detail(reader, f"{PRODUCTS}{tee.pk}/", {"location": "MAIN"})
    assert at_main["variants"] == [_summary(shops["small"], 5, 0), _summary(shops["large"], 0, 0)]


def test_a_variant_with_no_level_there_has_nothing_there(reader, shops, path):
    sweater = shops["sweater"]
    for code in ("STORE-01", "WEB"):
        body = _detail(reader, f"{PRODUCTS}{sweater.pk}/", {"location": code})
        # All 0: out of stock there, and low by its own threshold.
        assert body["variants"] == [_summary(shops["one_size"], 0, 0)]
        assert body["variants"][0]["low_stock"] is True


def test_the_product_list_at_a_location(reader, shops, path):
    page = _detail(reader, PRODUCTS, {"location": "STORE-01"})
    assert [p["name"] for p in page["results"]] == ["Sweater", "Tee"]
    assert page["results"][0]["variants"] == [_summary(shops["one_size"], 0, 0)]
    assert page["results"][1]["variants"] == [
        _summary(shops["small"], 4, 0),
        _summary(shops["large"], 2, 1),
    ]
    totals = _detail(reader, PRODUCTS)
    assert totals["results"][0]["variants"] == [_summary(shops["one_size"], 4, 0)]


def test_the_variant_list_at_a_location(reader, shops, path):
    page = _detail(reader, VARIANTS, {"location": "STORE-01"})
    results = page["results"]
    expected = [
        _variant(shops["small"], results[0], 4, 0, product_name="Tee"),
        _variant(shops["large"], results[1], 2, 1, product_name="Tee"),
        _variant(shops["one_size"], results[2], 0, 0, product_name="Sweater"),
    ]
    assert page == {"count": 3, "next": None, "previous": None, "results": expected}


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        # Where can I pick up an L-XL today?
        ({"size": "L-XL", "in_stock": "true", "location": "STORE-01"}, ["Tee"]),
        ({"size": "L-XL", "in_stock": "true", "location": "MAIN"}, []),
        ({"size": "L-XL", "in_stock": "true"}, ["Tee"]),
        ({"size": "L-XL", "in_stock": "false", "location": "MAIN"}, ["Tee"]),
        ({"size": "One Size", "in_stock": "true", "location": "STORE-01"}, []),
        ({"in_stock": "true", "location": "STORE-01"}, ["Tee"]),
        ({"in_stock": "false", "location": "STORE-01"}, ["Sweater"]),
        ({"in_stock": "true", "location": "WEB"}, []),
        ({"in_stock": "false", "location": "WEB"}, ["Sweater", "Tee"]),
        ({"size": "S-M", "location": "WEB"}, ["Tee"]),  # a size alone is no stock filter
    ],
)
def test_product_filters_at_a_location(reader, shops, path, params, expected):
    page = _detail(reader, PRODUCTS, params)
    assert sorted(p["name"] for p in page["results"]) == expected


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"in_stock": "true", "location": "STORE-01"}, ["S-M", "L-XL"]),
        ({"in_stock": "false", "location": "STORE-01"}, ["One Size"]),
        ({"in_stock": "false", "location": "MAIN"}, ["L-XL"]),
        ({"low_stock": "true", "location": "STORE-01"}, ["L-XL", "One Size"]),
        ({"low_stock": "false", "location": "MAIN"}, ["S-M", "One Size"]),
        ({"low_stock": "true"}, ["L-XL"]),
        # Sorted by what is available there, the id breaking ties.
        ({"ordering": "-quantity", "location": "STORE-01"}, ["S-M", "L-XL", "One Size"]),
        ({"ordering": "quantity", "location": "MAIN"}, ["L-XL", "One Size", "S-M"]),
    ],
)
def test_variant_filters_at_a_location(reader, shops, path, params, expected):
    page = _detail(reader, VARIANTS, params)
    assert [v["size"] for v in page["results"]] == expected


def test_a_variant_s_detail_lists_its_levels(reader, shops, path):
    large = shops["large"]
    body = _detail(reader, f"{VARIANTS}{large.pk}/")
    # Every active location, by code: OLD is archived; MAIN and WEB hold none of it.
    assert body == {
        **_variant(large, body, 2, 1, product_name="Tee"),
        "levels": [
            {"location": "MAIN", "on_hand": 0, "committed": 0, "available": 0, **NONE_IN, **LOW},
            {
                "location": "STORE-01",
                "on_hand": 3,
                "committed": 1,
                "available": 2,
                **NONE_IN,
                **LOW,
            },
            {"location": "WEB", "on_hand": 0, "committed": 0, "available": 0, **NONE_IN, **LOW},
        ],
    }
    at_main = _detail(reader, f"{VARIANTS}{large.pk}/", {"location": "MAIN"})
    assert at_main == {
        **_variant(large, at_main, 0, 0, product_name="Tee"),
        "levels": body["levels"],
    }


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("NOPE", "No location with code 'NOPE'."),
        ("old", "OLD is archived and holds no stock."),
    ],
)
@pytest.mark.parametrize("url", ["products", "product", "variants", "variant"])
def test_an_unknown_or_archived_location_is_refused(reader, shops, url, code, message):
    address = {
        "products": PRODUCTS,
        "product": f"{PRODUCTS}{shops['tee'].pk}/",
        "variants": VARIANTS,
        "variant": f"{VARIANTS}{shops['large'].pk}/",
    }[url]
    response = reader.get(address, {"location": code})
    assert response.status_code == 400
    assert response.json() == {
        "error": {
            "code": "validation_error",
            "message": "The request is not valid; see details for the fields at fault.",
            "details": {"location": [message]},
        }
    }


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("location=", "This parameter is empty; give it a value or leave it out."),
        (
            "location=MAIN&location=WEB",
            "This parameter is given more than once; it takes one value.",
        ),
    ],
)
@pytest.mark.parametrize("url", ["products", "variant"])
def test_an_empty_or_repeated_location_is_refused_by_name(reader, shops, url, query, message):
    address = PRODUCTS if url == "products" else f"{VARIANTS}{shops['large'].pk}/"
    response = reader.get(f"{address}?{query}")
    assert response.status_code == 400
    assert response.json()["error"]["details"] == {"location": [message]}


def test_a_write_takes_no_location(writer, shops):
    response = writer.patch(
        f"{VARIANTS}{shops['large'].pk}/?location=MAIN", {"low_stock_threshold": 5}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["details"] == {
        "location": ["Unknown query parameter. This endpoint takes: format."]
    }


def _more_locations(count, variants):
    """``count`` stores more, each holding 2 of every variant given."""
    for number in range(count):
        store = _location(f"MORE-{number}")
        for variant in variants:
            _receive(variant, 2, store)


@pytest.mark.parametrize("locations", [1, 5])
def test_queries_do_not_grow_with_the_locations(
    reader, make_product, django_assert_num_queries, path, locations
):
    for number in range(6):
        make_product(name=f"Tee {number}", stock={"S-M": 1, "L-XL": 3})
    variants = list(Variant.objects.all())
    _more_locations(locations - 1, variants)
    product, variant = Product.objects.first(), variants[0]
    assert Location.objects.count() == locations
    where = {"location": "MAIN"}

    # API key, the location, the count, products, their variants.
    with django_assert_num_queries(5):
        page = reader.get(PRODUCTS, {**where, "in_stock": "true", "size": "L-XL"}).json()
    assert page["count"] == 6
    # Without a location: no location's query.
    with django_assert_num_queries(4):
        reader.get(PRODUCTS, {"in_stock": "true"})
    # API key, the location, product, its variants.
    with django_assert_num_queries(4):
        reader.get(f"{PRODUCTS}{product.pk}/", where)
    # API key, the location, variants with their products, the count.
    with django_assert_num_queries(4):
        page = reader.get(VARIANTS, {**where, "low_stock": "true"}).json()
    assert page["count"] == 6  # the S-Ms: 1 at MAIN
    # API key, the location, the variant, its levels.
    with django_assert_num_queries(4):
        body = reader.get(f"{VARIANTS}{variant.pk}/", where).json()
    assert len(body["levels"]) == locations
    with django_assert_num_queries(3):
        reader.get(f"{VARIANTS}{variant.pk}/")


def test_levels_follow_the_stock_levels(reader, shops):
    """The detail's levels are the stock levels themselves (on hand and committed)."""
    large = shops["large"]
    levels = _detail(reader, f"{VARIANTS}{large.pk}/")["levels"]
    stored = {
        level.location.code: (level.on_hand, level.committed)
        for level in StockLevel.objects.filter(variant=large).select_related("location")
    }
    shown = {
        level["location"]: (level["on_hand"], level["committed"])
        for level in levels
        if level["on_hand"] or level["committed"]
    }
    assert shown == stored == {"STORE-01": (3, 1)}
