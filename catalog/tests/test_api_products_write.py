"""Writing products through the API: creating one with its variants, refusing bad ones with
field errors and nothing stored, replacing, changing and deleting them."""

from decimal import Decimal

import pytest

from catalog.models import IssuedSku, Product, Variant
from catalog.tests.api_products_support import URL, detail
from stock.models import Location, LocationKind, StockLevel

pytestmark = pytest.mark.django_db

NEW_PRODUCT = {
    "category": "Sweaters",
    "name": "Merino Crew",
    "color": "Charcoal",
    "price": "89.5",
    "collection": "fw24",
    "variants": [
        {"size": "S-M", "quantity": 4, "sku": "mer-crew-sm", "barcode": "4006381333931"},
        {"size": "L-XL"},
    ],
}


def test_create_a_product_with_its_variants(writer):
    response = writer.post(URL, NEW_PRODUCT, format="json")

    assert response.status_code == 201, response.json()
    product = Product.objects.get()
    small, large = product.variants.order_by("id")
    body = response.json()
    assert body == {
        "id": product.pk,
        "category": "Sweaters",
        "name": "Merino Crew",
        "color": "Charcoal",
        "price": "89.50",
        "currency": "EUR",
        "collection": "FW24",
        "is_active": True,
        "variants": [
            {
                "id": small.pk,
                "size": "S-M",
                "sku": "MER-CREW-SM",
                "barcode": "4006381333931",
                "quantity": 4,
                "in_stock": True,
                "low_stock": False,
                "on_hand": 4,
                "committed": 0,
            },
            {
                "id": large.pk,
                "size": "L-XL",
                "sku": f"SWT-FW24-{product.pk:05d}-LXL",
                "barcode": None,
                "quantity": 0,
                "in_stock": False,
                "low_stock": True,
                "on_hand": 0,
                "committed": 0,
            },
        ],
        "created_at": body["created_at"],
        "updated_at": body["updated_at"],
    }


@pytest.mark.parametrize(
    ("change", "errors"),
    [
        ({"name": "   "}, {"name": ["This field may not be blank."]}),
        ({"color": ""}, {"color": ["This field may not be blank."]}),
        ({"price": "0"}, {"price": ["Ensure this value is greater than or equal to 0.01."]}),
        ({"price": "-3"}, {"price": ["Ensure this value is greater than or equal to 0.01."]}),
        ({"price": "1.999"}, {"price": ["Ensure that there are no more than 2 decimal places."]}),
        ({"price": "abc"}, {"price": ["A valid number is required."]}),
        ({"category": "Hats"}, {"category": ['"Hats" is not a valid choice.']}),
        (
            {"collection": "AW24"},
            {
                "collection": [
                    "Enter a season code: FW or SS followed by two digits, e.g. FW24 or SS25."
                ]
            },
        ),
        (
            {"variants": [{"size": "XXL"}]},
            {"variants": [{"size": ['"XXL" is not a valid choice.']}]},
        ),
        (
            {"variants": [{"size": "S-M"}, {"size": "S-M"}]},
            {
                "variants": [
                    {"size": ["A product has one variant per size; this size is repeated."]},
                    {"size": ["A product has one variant per size; this size is repeated."]},
                ]
            },
        ),
        (
            {"variants": [{"size": "S-M"}, {"size": "L-XL", "quantity": -1}]},
            {"variants": [{}, {"quantity": ["Ensure this value is greater than or equal to 0."]}]},
        ),
        (
            {"variants": [{"size": "S-M", "barcode": "4006381333932"}]},
            {
                "variants": [
                    {
                        "barcode": [
                            "This barcode's check digit is wrong; check for a mistyped digit."
                        ]
                    }
                ]
            },
        ),
    ],
)
def test_bad_products_are_refused_with_field_errors_and_nothing_is_stored(writer, change, errors):
    response = writer.post(URL, {**NEW_PRODUCT, **change}, format="json")

    assert response.status_code == 400
    assert response.json() == {
        "error": {
            "code": "validation_error",
            "message": "The request is not valid; see details for the fields at fault.",
            "details": errors,
        }
    }
    assert not Product.objects.exists()
    assert not Variant.objects.exists()


@pytest.fixture
def store():
    return Location.objects.create(code="STORE-01", name="The shop", kind=LocationKind.STORE)


def _on_hand(variant):
    """Where the variant's units are: {location code: (on hand, committed)}, and where its
    opening movement put them."""
    levels = {
        level.location.code: (level.on_hand, level.committed)
        for level in StockLevel.objects.filter(variant=variant).select_related("location")
    }
    opened = [m.location.code for m in variant.movements.filter(reason="initial")]
    return levels, opened


def test_variants_open_their_stock_where_each_says(writer, store):
    body = {
        **NEW_PRODUCT,
        "variants": [
            {"size": "S-M", "quantity": 4, "location": "store-01"},
            {"size": "L-XL", "quantity": 2},
        ],
    }
    response = writer.post(URL, body, format="json")

    assert response.status_code == 201, response.json()
    small, large = Product.objects.get().variants.order_by("id")
    assert _on_hand(small) == ({"STORE-01": (4, 0)}, ["STORE-01"])
    assert _on_hand(large) == ({"MAIN": (2, 0)}, ["MAIN"])
    assert [v["on_hand"] for v in response.json()["variants"]] == [4, 2]


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("NOPE", "No location with code 'NOPE'."),
        ("OLD", "OLD is archived and holds no stock."),
        ("", "This field may not be blank."),
    ],
)
def test_a_variant_s_unknown_or_archived_location_is_refused(writer, code, message):
    Location.objects.create(code="OLD", name="Closed", kind=LocationKind.STORE, is_active=False)
    body = {
        **NEW_PRODUCT,
        "variants": [{"size": "S-M", "quantity": 4}, {"size": "L-XL", "location": code}],
    }
    response = writer.post(URL, body, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["details"] == {"variants": [{}, {"location": [message]}]}
    assert not Product.objects.exists()
    assert not StockLevel.objects.exists()


def test_missing_fields_are_reported_together(writer):
    response = writer.post(URL, {}, format="json")
    assert response.status_code == 400
    assert set(response.json()["error"]["details"]) == {
        "category",
        "name",
        "color",
        "price",
        "collection",
    }


def test_a_taken_or_retired_sku_is_refused(writer, make_product):
    make_product(stock={"S-M": 1}, sku="TAKEN")
    IssuedSku.objects.create(sku="RETIRED")
    body = {
        **NEW_PRODUCT,
        "variants": [{"size": "S-M", "sku": "taken"}, {"size": "L-XL", "sku": "RETIRED"}],
    }
    response = writer.post(URL, body, format="json")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "conflict"
    message = "This SKU is taken, or was used by a deleted variant; SKUs are never reused."
    assert response.json()["error"]["details"] == {
        "variants": [{"sku": [message]}, {"sku": [message]}]
    }
    assert Product.objects.count() == 1


def test_put_replaces_and_patch_changes_fields(writer, make_product):
    product = make_product()
    put = {
        "category": "Pants",
        "name": "Chino",
        "color": "Khaki",
        "price": "60.00",
        "collection": "ss25",
        "is_active": False,
    }
    response = writer.put(detail(product.pk), put, format="json")
    assert response.status_code == 200, response.json()
    assert {k: response.json()[k] for k in put} == {**put, "collection": "SS25"}

    response = writer.patch(detail(product.pk), {"price": "55"}, format="json")
    assert response.status_code == 200
    product.refresh_from_db()
    assert (product.price, product.name, product.is_active) == (Decimal("55.00"), "Chino", False)


def test_put_needs_every_field(writer, make_product):
    product = make_product()
    response = writer.put(detail(product.pk), {"price": "5"}, format="json")
    assert response.status_code == 400
    assert set(response.json()["error"]["details"]) == {"category", "name", "color", "collection"}


def test_patch_refuses_bad_values_and_changes_nothing(writer, make_product):
    product = make_product()
    response = writer.patch(detail(product.pk), {"price": "0", "name": "ok"}, format="json")
    assert response.status_code == 400
    assert list(response.json()["error"]["details"]) == ["price"]
    product.refresh_from_db()
    assert (product.price, product.name) == (Decimal("29.90"), "Organic Cotton Tee")


def test_delete_a_product_without_stock(writer, make_product):
    product = make_product(stock={"S-M": 0})
    assert writer.delete(detail(product.pk)).status_code == 204
    assert not Product.objects.exists()


def test_a_product_with_stock_cannot_be_deleted(writer, make_product):
    product = make_product(stock={"S-M": 2, "L-XL": 0})
    response = writer.delete(detail(product.pk))
    assert response.status_code == 409
    assert response.json() == {
        "error": {
            "code": "protected",
            "message": "This product still has stock and cannot be deleted; archive it instead.",
            "details": {"variants_with_stock": [product.variants.get(size="S-M").sku]},
        }
    }
    assert Variant.objects.count() == 2


def test_a_put_without_is_active_keeps_an_archived_product_archived(writer, make_product):
    product = make_product(is_active=False)
    body = {"category": "Tees", "name": "T", "color": "B", "price": "5", "collection": "FW24"}
    assert writer.put(detail(product.pk), body, format="json").status_code == 200
    product.refresh_from_db()
    assert product.is_active is False


def test_variants_are_not_changed_through_the_product(writer, make_product):
    product = make_product(stock={"S-M": 5})
    response = writer.patch(
        detail(product.pk), {"variants": [{"size": "S-M", "quantity": 99}]}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["details"] == {
        "variants": [
            "Variants are changed one by one at /api/v1/variants/{id}/, and their stock through "
            "POST /api/v1/variants/{id}/adjust/ or /count/."
        ]
    }
    assert product.variants.get().quantity == 5
