"""Adding and editing products and variants in the admin: it saves through the same services and
rules as the API."""

from unittest import mock

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from catalog import services
from catalog.models import IssuedSku, Product, Variant
from catalog.tests.admin_support import PRODUCT_ADD, PRODUCTS, _form_errors, _messages
from catalog.tests.support import admin_url, product_add_data, product_form_data
from catalog.validators import MAX_QUANTITY

pytestmark = pytest.mark.django_db

# A valid EAN-13 (the GS1 example); the same digits with another last digit fail the check.
EAN13 = "4006381333931"
EAN13_WRONG_CHECK_DIGIT = "4006381333932"


# Adding


def test_adding_a_product_with_two_variants(manager_web: Client):
    data = product_add_data(
        {"size": "S-M", "sku": "", "quantity": "4"},
        {"size": "L-XL", "sku": " linen-tee-lxl ", "barcode": EAN13, "low_stock_threshold": "1"},
        collection="fw24",
    )

    response = manager_web.post(PRODUCT_ADD, data)

    assert response.status_code == 302
    assert response["Location"] == PRODUCTS
    product = Product.objects.get()
    assert (product.name, product.category, product.color, str(product.price)) == (
        "Linen Tee",
        "Tees",
        "White",
        "35.00",
    )
    assert product.collection == "FW24"
    assert product.is_active is True
    variants = {
        v.size: (v.sku, v.barcode, v.quantity, v.low_stock_threshold)
        for v in product.variants.all()
    }
    assert variants == {
        "S-M": (f"TEE-FW24-{product.pk:05d}-SM", None, 4, 2),
        "L-XL": ("LINEN-TEE-LXL", EAN13, 0, 1),
    }
    assert set(IssuedSku.objects.values_list("sku", flat=True)) == {
        f"TEE-FW24-{product.pk:05d}-SM",
        "LINEN-TEE-LXL",
    }
    (message,) = _messages(response)
    assert "Linen Tee (White, FW24)" in str(message)
    assert "was added successfully" in str(message)


def test_adding_a_product_goes_through_the_service(manager_web: Client):
    with mock.patch.object(
        services, "product_create", wraps=services.product_create
    ) as product_create:
        response = manager_web.post(PRODUCT_ADD, product_add_data({"size": "S-M"}))

    assert response.status_code == 302
    product_create.assert_called_once()
    assert product_create.call_args.kwargs["name"] == "Linen Tee"


@pytest.mark.parametrize(
    ("fields", "rows", "error_at", "message"),
    [
        pytest.param({"name": "   "}, [{"size": "S-M"}], "name", "required", id="blank name"),
        pytest.param({"color": ""}, [{"size": "S-M"}], "color", "required", id="blank color"),
        pytest.param({"price": "0"}, [{"size": "S-M"}], "price", "0.01", id="zero price"),
        pytest.param({"price": "-5"}, [{"size": "S-M"}], "price", "0.01", id="negative price"),
        pytest.param(
            {"collection": "XX24"}, [{"size": "S-M"}], "collection", "season code", id="season"
        ),
        pytest.param(
            {},
            [{"size": "S-M", "barcode": EAN13_WRONG_CHECK_DIGIT}],
            "variants-0-barcode",
            "check digit",
            id="barcode check digit",
        ),
        pytest.param(
            {},
            [{"size": "S-M"}, {"size": "S-M"}],
            "variants",
            "duplicate data for size",
            id="repeated size",
        ),
        pytest.param(
            {},
            [{"size": "S-M", "sku": "tee-1"}, {"size": "L-XL", "sku": "TEE-1"}],
            "variants",
            "duplicate data for sku",
            id="repeated sku",
        ),
        pytest.param(
            {},
            [{"size": "S-M", "quantity": "-1"}],
            "variants-0-quantity",
            "greater than or equal to 0",
            id="negative quantity",
        ),
    ],
)
def test_adding_refuses_what_the_api_refuses(manager_web: Client, fields, rows, error_at, message):
    response = manager_web.post(PRODUCT_ADD, product_add_data(*rows, **fields))

    assert response.status_code == 200
    errors = _form_errors(response)
    assert error_at in errors, errors
    assert message in " ".join(errors[error_at])
    assert Product.objects.count() == 0
    assert Variant.objects.count() == 0
    assert IssuedSku.objects.count() == 0


@pytest.mark.parametrize("field", ["quantity", "low_stock_threshold"])
def test_adding_refuses_more_than_the_api_allows(manager_web: Client, field):
    row = {"size": "S-M", field: str(MAX_QUANTITY + 1)}

    response = manager_web.post(PRODUCT_ADD, product_add_data(row))

    assert response.status_code == 200
    assert f"variants-0-{field}" in _form_errors(response)
    assert Product.objects.count() == 0


def test_adding_refuses_a_sku_that_was_issued_before(manager_web: Client, make_product):
    product = make_product(stock={"S-M": 0})
    variant = product.variants.get()
    services.variant_delete(variant=variant)

    response = manager_web.post(
        PRODUCT_ADD, product_add_data({"size": "S-M", "sku": variant.sku.lower()})
    )

    assert response.status_code == 200
    assert "never reused" in " ".join(_form_errors(response)["variants-0-sku"])
    assert Product.objects.count() == 1


# Editing


def test_editing_a_product_writes_only_the_changed_fields_through_the_service(
    manager_web: Client, make_product
):
    product = make_product(name="Organic Cotton Tee", price="29.90", color="Black")

    with (
        mock.patch.object(
            services, "product_update", wraps=services.product_update
        ) as product_update,
        CaptureQueriesContext(connection) as queries,
    ):
        response = manager_web.post(
            admin_url("change", product),
            product_form_data(product, name="Heavy Tee", price="31.50"),
        )

    assert response.status_code == 302
    product.refresh_from_db()
    assert (product.name, str(product.price), product.color) == ("Heavy Tee", "31.50", "Black")
    product_update.assert_called_once()
    assert set(product_update.call_args.kwargs["data"]) == {"name", "price"}
    product_writes = [q["sql"] for q in queries if q["sql"].startswith('UPDATE "catalog_product"')]
    assert len(product_writes) == 1
    assert '"name"' in product_writes[0]
    assert '"color"' not in product_writes[0]
    # The inline rows did not change, so no variant is written.
    assert not [q for q in queries if q["sql"].startswith('UPDATE "catalog_variant"')]


def test_editing_stores_a_lower_case_collection_in_upper_case(manager_web: Client, make_product):
    product = make_product(collection="FW24")

    response = manager_web.post(
        admin_url("change", product), product_form_data(product, collection="ss25")
    )

    assert response.status_code == 302
    product.refresh_from_db()
    assert product.collection == "SS25"


def test_editing_refuses_a_zero_price(manager_web: Client, make_product):
    product = make_product(price="29.90")

    response = manager_web.post(admin_url("change", product), product_form_data(product, price="0"))

    assert response.status_code == 200
    assert "price" in _form_errors(response)
    product.refresh_from_db()
    assert str(product.price) == "29.90"


def test_editing_cannot_change_the_quantity_or_sku_of_a_variant(manager_web: Client, make_product):
    product = make_product(stock={"S-M": 5, "L-XL": 0})
    variant = product.variants.get(size="S-M")
    sku = variant.sku

    response = manager_web.post(
        admin_url("change", product),
        product_form_data(
            product, rows={"S-M": {"quantity": "99", "sku": "HACKED-1", "size": "L-XL"}}
        ),
    )

    assert response.status_code == 302
    variant.refresh_from_db()
    assert (variant.sku, variant.quantity, variant.size) == (sku, 5, "S-M")
    assert not IssuedSku.objects.filter(sku="HACKED-1").exists()


def test_editing_changes_the_barcode_and_low_stock_threshold_of_a_variant(
    manager_web: Client, make_product
):
    product = make_product(stock={"S-M": 5, "L-XL": 0})
    variant = product.variants.get(size="S-M")
    assert variant.low_stock is False

    response = manager_web.post(
        admin_url("change", product),
        product_form_data(product, rows={"S-M": {"barcode": EAN13, "low_stock_threshold": "5"}}),
    )

    assert response.status_code == 302
    variant.refresh_from_db()
    assert (variant.barcode, variant.low_stock_threshold, variant.quantity) == (EAN13, 5, 5)
    assert variant.low_stock is True


def test_editing_refuses_a_barcode_with_a_wrong_check_digit(manager_web: Client, make_product):
    product = make_product(stock={"S-M": 5})
    variant = product.variants.get()

    response = manager_web.post(
        admin_url("change", product),
        product_form_data(product, rows={"S-M": {"barcode": EAN13_WRONG_CHECK_DIGIT}}),
    )

    assert response.status_code == 200
    assert "check digit" in " ".join(_form_errors(response)["variants-0-barcode"])
    variant.refresh_from_db()
    assert variant.barcode is None


def test_variant_change_page_saves_the_barcode_but_not_the_quantity(
    manager_web: Client, make_product
):
    variant = make_product(stock={"S-M": 5}).variants.get()
    sku = variant.sku

    response = manager_web.post(
        admin_url("change", variant),
        {
            "size": "L-XL",
            "sku": "HACKED-2",
            "barcode": EAN13,
            "quantity": "99",
            "low_stock_threshold": "3",
        },
    )

    assert response.status_code == 302
    variant.refresh_from_db()
    assert (variant.size, variant.sku, variant.quantity) == ("S-M", sku, 5)
    assert (variant.barcode, variant.low_stock_threshold) == (EAN13, 3)
