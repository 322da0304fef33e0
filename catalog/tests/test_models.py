"""Every catalog rule is also a database rule: writes that bypass the services and the API
(raw ORM, bulk updates) still cannot store bad data."""

from decimal import Decimal

import pytest
from django.db import DataError, IntegrityError, connection, transaction

from catalog.models import Product, Variant

pytestmark = pytest.mark.django_db

VALID_PRODUCT = {
    "category": "Tees",
    "name": "Tee",
    "color": "Black",
    "price": Decimal("10.00"),
    "collection": "FW24",
}


def _insert_product(**overrides):
    with transaction.atomic():
        return Product.objects.create(**{**VALID_PRODUCT, **overrides})


@pytest.mark.parametrize(
    ("field", "value", "constraint"),
    [
        ("category", "Hats", "category_valid"),
        ("name", "   ", "name_not_blank"),
        ("name", "", "name_not_blank"),
        ("color", "\t", "color_not_blank"),
        ("price", Decimal("0"), "price_positive"),
        ("price", Decimal("-1.00"), "price_positive"),
        ("collection", "XX24", "collection_season_code"),
        ("collection", "FW2", "collection_season_code"),
    ],
)
def test_product_check_constraints_refuse_bad_rows(field, value, constraint):
    with pytest.raises(IntegrityError, match=constraint):
        _insert_product(**{field: value})
    assert Product.objects.count() == 0


def test_codes_are_stored_upper_case_even_through_the_raw_orm(product):
    variant = _insert_variant(product, sku=" tee-1 ")
    other = _insert_product(collection="ss25")
    variant.refresh_from_db()
    other.refresh_from_db()
    assert (variant.sku, other.collection) == ("TEE-1", "SS25")
    assert Variant.objects.filter(sku="TEE-1").exists()
    assert Product.objects.filter(collection="SS25").exists()


def test_sql_that_bypasses_the_orm_cannot_store_a_lower_case_code(product):
    table = Product._meta.db_table
    with (
        pytest.raises(IntegrityError, match="collection_season_code"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(f"UPDATE {table} SET collection = 'fw24' WHERE id = %s", [product.pk])
    product.refresh_from_db()
    assert product.collection == "FW24"


def test_a_valid_product_row_is_stored():
    product = _insert_product()
    assert Product.objects.get().pk == product.pk


@pytest.fixture
def product():
    return _insert_product()


def _insert_variant(product, **overrides):
    values = {"size": "S-M", "sku": "TEE-1", "quantity": 1, **overrides}
    with transaction.atomic():
        return Variant.objects.create(product=product, **values)


@pytest.mark.parametrize(
    ("overrides", "constraint"),
    [
        ({"size": "XXL"}, "size_valid"),
        ({"quantity": -1}, "quantity_not_negative"),
        ({"low_stock_threshold": -1}, "low_stock_threshold_not_negative"),
        ({"sku": "TEE 1"}, "sku_format"),
        ({"sku": "-TEE"}, "sku_format"),
        ({"sku": ""}, "sku_format"),
        ({"barcode": "12345"}, "barcode_(format|check_digit)"),
    ],
)
def test_variant_check_constraints_refuse_bad_rows(product, overrides, constraint):
    with pytest.raises(IntegrityError, match=constraint):
        _insert_variant(product, **overrides)
    assert Variant.objects.count() == 0


def test_one_variant_per_size_per_product(product):
    _insert_variant(product, sku="TEE-1")
    with pytest.raises(IntegrityError):
        _insert_variant(product, sku="TEE-2")
    assert Variant.objects.count() == 1


def test_sku_and_barcode_are_unique(product):
    other = _insert_product(name="Other")
    _insert_variant(product, sku="TEE-1", barcode="4006381333931")
    with pytest.raises(IntegrityError):
        _insert_variant(other, sku="TEE-1")
    with pytest.raises(IntegrityError):
        _insert_variant(other, sku="TEE-2", barcode="4006381333931")
    assert Variant.objects.count() == 1


def test_a_bulk_update_cannot_take_quantity_below_zero(product):
    variant = _insert_variant(product, quantity=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        Variant.objects.filter(pk=variant.pk).update(quantity=-5)
    variant.refresh_from_db()
    assert variant.quantity == 1


@pytest.mark.parametrize(
    ("quantity", "threshold", "in_stock", "low_stock"),
    [
        (0, 2, False, True),
        (1, 2, True, True),
        (2, 2, True, True),
        (3, 2, True, False),
        (5, 0, True, False),
    ],
)
def test_in_stock_and_low_stock_are_derived_from_the_quantity(
    product, quantity, threshold, in_stock, low_stock
):
    variant = _insert_variant(product, quantity=quantity, low_stock_threshold=threshold)
    assert (variant.in_stock, variant.low_stock) == (in_stock, low_stock)
    # Derived by the database, so a write that bypasses the model keeps them right too.
    Variant.objects.filter(pk=variant.pk).update(quantity=0)
    variant.refresh_from_db()
    assert (variant.in_stock, variant.low_stock) == (False, True)


@pytest.mark.parametrize("barcode", ["4006381333932", "4006381333930", "96385075", "036000291453"])
def test_the_database_refuses_a_barcode_with_a_wrong_check_digit(product, barcode):
    with pytest.raises(IntegrityError, match="barcode_check_digit"):
        _insert_variant(product, barcode=barcode)
    assert Variant.objects.count() == 0


@pytest.mark.parametrize(
    "barcode", ["4006381333931", "96385074", "036000291452", "00012345600012", "2000000100029"]
)
def test_the_database_accepts_valid_gtins_of_every_length(product, barcode):
    _insert_variant(product, barcode=barcode)
    assert Variant.objects.get().barcode == barcode


@pytest.mark.parametrize(("field", "length"), [("name", 201), ("color", 51)])
def test_the_database_refuses_text_longer_than_its_field(field, length):
    with pytest.raises((IntegrityError, DataError)):
        _insert_product(**{field: "x" * length})
    assert Product.objects.count() == 0
