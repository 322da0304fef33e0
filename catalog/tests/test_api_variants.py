import pytest

from catalog.models import Variant
from catalog.validators import MAX_QUANTITY
from conftest import TEST_ACTOR
from stock.models import Location, LocationKind, StockLevel
from stock.services import stock_adjust

pytestmark = pytest.mark.django_db

URL = "/api/v1/variants/"
# A level's threshold and target where none were set: the variant's threshold (2), and one more.
DEFAULTS = {
    "low_stock_threshold": 2,
    "target": 3,
    "settings": {"low_stock_threshold": None, "target": None},
}


def detail(variant_id):
    return f"{URL}{variant_id}/"


@pytest.fixture
def tee(make_product):
    return make_product(name="Tee", stock={"S-M": 5})


def test_create_a_variant_with_its_opening_quantity(writer, tee):
    response = writer.post(
        URL,
        {"product": tee.pk, "size": "L-XL", "quantity": 7, "barcode": "4006381333931"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    variant = Variant.objects.get(product=tee, size="L-XL")
    body = response.json()
    assert body == {
        "id": variant.pk,
        "product": tee.pk,
        "product_name": "Tee",
        "size": "L-XL",
        "sku": f"TEE-FW24-{tee.pk:05d}-LXL",
        "barcode": "4006381333931",
        "quantity": 7,
        "low_stock_threshold": 2,
        "in_stock": True,
        "low_stock": False,
        "on_hand": 7,
        "committed": 0,
        "created_at": body["created_at"],
        "updated_at": body["updated_at"],
    }


@pytest.mark.parametrize("code", ["STORE-01", "store-01"])
def test_create_a_variant_with_its_opening_quantity_at_a_location(writer, tee, code):
    Location.objects.create(code="STORE-01", name="The shop", kind=LocationKind.STORE)
    response = writer.post(
        URL, {"product": tee.pk, "size": "L-XL", "quantity": 7, "location": code}, format="json"
    )
    assert response.status_code == 201, response.json()
    variant = Variant.objects.get(product=tee, size="L-XL")
    assert StockLevel.objects.filter(variant=variant).get().location.code == "STORE-01"
    assert variant.stock_levels.get().on_hand == 7
    assert variant.movements.get().location.code == "STORE-01"
    body = response.json()
    assert (body["quantity"], body["on_hand"], body["committed"]) == (7, 7, 0)
    # Its detail shows where the units are.
    levels = writer.get(detail(variant.pk)).json()["levels"]
    assert levels == [
        {"location": "MAIN", "on_hand": 0, "committed": 0, "available": 0, "incoming": 0,
         **DEFAULTS,
         "low_stock": True},
        {"location": "STORE-01", "on_hand": 7, "committed": 0, "available": 7, "incoming": 0,
         **DEFAULTS,
         "low_stock": False},
    ]  # fmt: skip


def test_without_a_location_the_opening_quantity_is_at_the_default_one(writer, tee):
    Location.objects.create(code="STORE-01", name="The shop", kind=LocationKind.STORE)
    response = writer.post(URL, {"product": tee.pk, "size": "L-XL", "quantity": 7}, format="json")
    assert response.status_code == 201, response.json()
    level = Variant.objects.get(product=tee, size="L-XL").stock_levels.get()
    assert (level.location.code, level.on_hand) == ("MAIN", 7)


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("NOPE", "No location with code 'NOPE'."),
        ("old", "OLD is archived and holds no stock."),
    ],
)
def test_an_unknown_or_archived_opening_location_is_refused(writer, tee, code, message):
    Location.objects.create(code="OLD", name="Closed", kind=LocationKind.STORE, is_active=False)
    response = writer.post(
        URL, {"product": tee.pk, "size": "L-XL", "quantity": 7, "location": code}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["details"] == {"location": [message]}
    assert tee.variants.count() == 1


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({"size": "XL"}, {"size": ['"XL" is not a valid choice.']}),
        (
            {"size": "L-XL", "quantity": -2},
            {"quantity": ["Ensure this value is greater than or equal to 0."]},
        ),
        (
            {"size": "L-XL", "quantity": 1.5},
            {"quantity": ["Expected a whole number; got a number with a decimal point."]},
        ),
        (
            {"size": "L-XL", "sku": "bad sku!"},
            {
                "sku": [
                    "A SKU is 1 to 64 upper-case letters, digits and inner hyphens, e.g. TEE-FW24-001-LXL."
                ]
            },
        ),
        (
            {"size": "L-XL", "barcode": "12345"},
            {
                "barcode": [
                    "A barcode is a GTIN of 8, 12, 13 or 14 digits (EAN-13 for most labels)."
                ]
            },
        ),
    ],
)
def test_bad_variants_are_refused(writer, tee, body, errors):
    response = writer.post(URL, {"product": tee.pk, **body}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["details"] == errors
    assert tee.variants.count() == 1


def test_a_variant_needs_an_existing_product(writer):
    response = writer.post(URL, {"product": 999, "size": "S-M"}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["details"] == {
        "product": ['Invalid pk "999" - object does not exist.']
    }


def test_a_barcode_belongs_to_one_variant(writer, make_product):
    make_product(name="A", stock={"S-M": 1}, barcode="4006381333931")
    other = make_product(name="B", stock={})
    response = writer.post(
        URL, {"product": other.pk, "size": "S-M", "barcode": "4006381333931"}, format="json"
    )
    # A value the catalog holds already: a conflict with the data, as a concurrent write's is.
    assert response.status_code == 409
    assert response.json()["error"] == {
        "code": "conflict",
        "message": "A value given is already taken in the catalog; see details for the fields.",
        "details": {"barcode": ["Another variant already has this barcode."]},
    }
    assert not other.variants.exists()


def test_a_size_a_product_has_already_is_a_conflict(writer, tee):
    response = writer.post(URL, {"product": tee.pk, "size": "S-M"}, format="json")
    assert response.status_code == 409
    assert response.json()["error"]["details"] == {
        "size": ["This product already has a variant of this size."]
    }
    assert tee.variants.count() == 1


def test_a_body_s_own_mistakes_come_before_a_conflict(writer, tee):
    # Taken size, and a quantity that is no quantity: the body is fixed first.
    response = writer.post(URL, {"product": tee.pk, "size": "S-M", "quantity": -1}, format="json")
    assert response.status_code == 400
    assert list(response.json()["error"]["details"]) == ["quantity"]


def test_a_taken_barcode_on_change_is_a_conflict(writer, make_product):
    make_product(name="A", stock={"S-M": 1}, barcode="4006381333931")
    variant = make_product(name="B", stock={"S-M": 1}).variants.get()
    response = writer.patch(f"{URL}{variant.pk}/", {"barcode": "4006381333931"}, format="json")
    assert response.status_code == 409
    assert response.json()["error"]["details"] == {
        "barcode": ["Another variant already has this barcode."]
    }
    variant.refresh_from_db()
    assert variant.barcode is None


def test_find_a_variant_by_sku_or_barcode(reader, make_product):
    make_product(name="A", stock={"S-M": 1}, sku="A-SM", barcode="4006381333931")
    make_product(name="B", stock={"S-M": 1}, sku="B-SM")

    by_sku = reader.get(URL, {"sku": "a-sm"}).json()["results"]
    by_barcode = reader.get(URL, {"barcode": "4006381333931"}).json()["results"]

    assert [v["sku"] for v in by_sku] == ["A-SM"]
    assert [v["sku"] for v in by_barcode] == ["A-SM"]
    assert reader.get(URL, {"barcode": "0000000000000"}).json()["count"] == 0


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"size": "L-XL"}, ["TEE-L"]),
        ({"in_stock": "true"}, ["TEE-S"]),
        ({"low_stock": "true"}, ["TEE-L"]),
        ({"search": "tee-"}, ["TEE-L", "TEE-S"]),
        ({"active": "all"}, ["OLD-S", "TEE-L", "TEE-S"]),
        ({"active": "false"}, ["OLD-S"]),
    ],
)
def test_variant_filters(reader, make_product, params, expected):
    tee = make_product(name="Tee", stock={})
    tee.variants.create(size="S-M", sku="TEE-S", quantity=9)
    tee.variants.create(size="L-XL", sku="TEE-L", quantity=0)
    make_product(name="Old", stock={"S-M": 3}, sku="OLD-S", is_active=False)

    results = reader.get(URL, params).json()["results"]
    assert sorted(v["sku"] for v in results) == expected


def test_filter_by_product(reader, make_product):
    first = make_product(name="First")
    make_product(name="Second")
    results = reader.get(URL, {"product": first.pk}).json()["results"]
    assert {v["product"] for v in results} == {first.pk}
    assert len(results) == 2


def test_order_variants_by_quantity(reader, make_product):
    make_product(stock={"S-M": 5, "L-XL": 1, "One Size": 3})
    results = reader.get(URL, {"ordering": "-quantity"}).json()["results"]
    assert [v["quantity"] for v in results] == [5, 3, 1]


def test_update_barcode_and_threshold(writer, tee):
    variant = tee.variants.get()
    response = writer.patch(
        detail(variant.pk), {"barcode": "4006381333931", "low_stock_threshold": 10}, format="json"
    )
    assert response.status_code == 200
    assert (response.json()["barcode"], response.json()["low_stock"]) == ("4006381333931", True)
    response = writer.patch(detail(variant.pk), {"barcode": ""}, format="json")
    assert response.json()["barcode"] is None


def test_a_variant_holding_more_than_the_ceiling_over_all_locations_is_still_edited(
    writer, make_product
):
    # The ceiling on quantities holds per location: a variant at its ceiling in the warehouse
    # with units in a shop besides holds more in all, and its barcode still changes.
    variant = make_product(stock={"S-M": MAX_QUANTITY}).variants.get()
    shop = Location.objects.create(code="STORE-01", name="Shop", kind=LocationKind.STORE)
    stock_adjust(variant_id=variant.pk, delta=5, reason="received", actor=TEST_ACTOR, location=shop)

    response = writer.patch(detail(variant.pk), {"barcode": "4006381333931"}, format="json")

    assert response.status_code == 200, response.json()
    assert (response.json()["quantity"], response.json()["barcode"]) == (
        MAX_QUANTITY + 5,
        "4006381333931",
    )


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        (
            "quantity",
            99,
            "The quantity cannot be set here: use POST /api/v1/variants/{id}/adjust/ (a change "
            "with a reason) or POST /api/v1/variants/{id}/count/ (a counted quantity).",
        ),
        ("size", "L-XL", "A variant's size cannot change; create a variant of the other size."),
        ("sku", "NEW-SKU", "A variant's SKU cannot change."),
    ],
)
def test_quantity_size_and_sku_are_read_only_after_creation(writer, tee, field, value, message):
    variant = tee.variants.get()
    response = writer.patch(detail(variant.pk), {field: value}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["details"] == {field: [message]}
    variant.refresh_from_db()
    assert (variant.quantity, variant.size, variant.sku) == (5, "S-M", f"TEE-FW24-{tee.pk:05d}-SM")


def test_delete_a_variant_without_stock_and_not_one_with_stock(writer, make_product):
    product = make_product(stock={"S-M": 0, "L-XL": 3})
    empty, stocked = product.variants.get(size="S-M"), product.variants.get(size="L-XL")

    assert writer.delete(detail(empty.pk)).status_code == 204
    response = writer.delete(detail(stocked.pk))
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "protected"
    assert response.json()["error"]["details"] == {"sku": stocked.sku, "quantity": 3}
    assert list(product.variants.values_list("size", flat=True)) == ["L-XL"]


def test_variant_list_queries_do_not_grow_with_the_page_size(
    reader, make_product, django_assert_num_queries
):
    for number in range(10):
        make_product(name=f"Tee {number}")
    with django_assert_num_queries(3):  # API key, variants joined with their products, count
        reader.get(URL, {"page_size": 2})
    with django_assert_num_queries(3):
        page = reader.get(URL, {"page_size": 20}).json()
    assert page["count"] == len(page["results"]) == 20


def test_a_lookup_by_sku_is_two_queries(reader, tee, django_assert_num_queries):
    variant = tee.variants.get()
    with django_assert_num_queries(2):  # API key, the variant with its product
        page = reader.get(URL, {"sku": variant.sku}).json()
    assert (page["count"], [v["id"] for v in page["results"]]) == (1, [variant.pk])
    with django_assert_num_queries(2):
        page = reader.get(URL, {"sku": "NO-SUCH-SKU"}).json()
    assert (page["count"], page["results"], page["next"]) == (0, [], None)


def test_variant_detail_queries(reader, tee, django_assert_num_queries):
    url = detail(tee.variants.get().pk)
    with django_assert_num_queries(3):  # API key, variant with its product, its levels
        reader.get(url)


@pytest.fixture
def scanned(monkeypatch):
    """The lookups that took the plain path for an exact SKU or barcode."""
    from catalog.api import representations

    calls = []
    lookup = representations.variant_rows_by_code

    def recorded(column, value):
        calls.append((column, value))
        return lookup(column, value)

    monkeypatch.setattr(representations, "variant_rows_by_code", recorded)
    return calls


@pytest.mark.postgres  # the plain path is PostgreSQL's; SQLite always filters
def test_an_exact_scan_answers_what_the_filters_answer(reader, make_product, scanned):
    from catalog.services import product_update

    make_product(name="A", stock={"S-M": 3}, sku="A1-SM", barcode="4006381333931")
    old = make_product(name="Old", stock={"S-M": 1}, sku="OLD-SM", barcode="5012345678900")
    product_update(product=old, data={"is_active": False})

    for query in [
        "sku=A1-SM",
        "sku=a1-sm",  # any case
        "sku=OLD-SM",  # an archived product's: not listed
        "sku=NO-SUCH",
        "barcode=4006381333931",
        "barcode=5012345678900",
        "barcode=ABC",
    ]:
        scanned.clear()
        plain = reader.get(f"{URL}?{query}")
        assert len(scanned) == 1, query
        # The same question through the filters: page 1 is what the scan answers.
        filtered = reader.get(f"{URL}?{query}&page=1")
        assert len(scanned) == 1, query
        assert plain.status_code == filtered.status_code == 200
        assert plain.content == filtered.content, query
    assert reader.get(f"{URL}?sku=a1-sm").json()["results"][0]["quantity"] == 3


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("sku=", 400),  # empty: refused by name
        ("sku=%20A-SM", 200),  # escaped: the filter strips it
        ("sku=" + "A" * 65, 400),  # longer than a SKU
        ("barcode=" + "1" * 15, 400),
        ("sku=A-SM&sku=B-SM", 400),  # given twice
        ("SKU=A-SM", 400),  # unknown parameter
        ("sku=A-SM&active=all", 200),
    ],
)
def test_anything_but_a_plain_scan_goes_through_the_filters(
    reader, make_product, scanned, query, status
):
    make_product(name="A", stock={"S-M": 1}, sku="A-SM")
    assert reader.get(f"{URL}?{query}").status_code == status
    assert scanned == []
