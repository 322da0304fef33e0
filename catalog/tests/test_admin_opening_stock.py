"""New variants in the admin: the opening quantity is the first movement, by the staff user."""

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from catalog.models import Product
from catalog.tests.admin_stock_support import VARIANT_ADD, _movements
from catalog.tests.support import admin_url, product_add_data, product_form_data

pytestmark = pytest.mark.django_db

PRODUCT_ADD = reverse("admin:catalog_product_add")


def test_adding_a_product_records_the_opening_quantity_of_each_stocked_variant(
    manager_web: Client, manager: User
):
    data = product_add_data({"size": "S-M", "quantity": "4"}, {"size": "L-XL", "quantity": "0"})

    response = manager_web.post(PRODUCT_ADD, data)

    assert response.status_code == 302
    product = Product.objects.get()
    small, large = product.variants.get(size="S-M"), product.variants.get(size="L-XL")
    assert (small.quantity, large.quantity) == (4, 0)
    assert _movements(small) == [("initial", 4, 4, "user", "manager", manager.pk, "")]
    assert _movements(large) == []


@pytest.mark.parametrize(("quantity", "movements"), [(7, 1), (0, 0)])
def test_an_added_row_on_the_change_page_records_its_opening_quantity(
    manager_web: Client, manager: User, make_product, quantity, movements
):
    product = make_product(stock={"S-M": 0})

    response = manager_web.post(
        admin_url("change", product),
        product_form_data(product, new_rows=({"size": "L-XL", "quantity": str(quantity)},)),
    )

    assert response.status_code == 302
    variant = product.variants.get(size="L-XL")
    assert variant.quantity == quantity
    expected = [("initial", quantity, quantity, "user", "manager", manager.pk, "")]
    assert _movements(variant) == expected[:movements]
    assert _movements(product.variants.get(size="S-M")) == []


def test_two_added_rows_with_generated_skus_record_their_opening_quantities(
    manager_web: Client, manager: User, make_product
):
    product = make_product(stock={"S-M": 0})

    response = manager_web.post(
        admin_url("change", product),
        product_form_data(
            product,
            new_rows=({"size": "L-XL", "quantity": "7"}, {"size": "One Size", "quantity": "0"}),
        ),
    )

    assert response.status_code == 302
    variants = {v.size: v for v in product.variants.all()}
    assert {size: v.quantity for size, v in variants.items()} == {
        "S-M": 0,
        "L-XL": 7,
        "One Size": 0,
    }
    assert _movements(variants["L-XL"]) == [("initial", 7, 7, "user", "manager", manager.pk, "")]
    assert _movements(variants["One Size"]) == []


@pytest.mark.parametrize(("quantity", "movements"), [(6, 1), (0, 0)])
def test_adding_a_variant_on_its_own_page_records_its_opening_quantity(
    manager_web: Client, manager: User, make_product, quantity, movements
):
    product = make_product(stock={"S-M": 0})

    response = manager_web.post(
        VARIANT_ADD,
        {
            "product": str(product.pk),
            "size": "L-XL",
            "sku": "",
            "barcode": "",
            "quantity": str(quantity),
            "low_stock_threshold": "2",
        },
    )

    assert response.status_code == 302
    variant = product.variants.get(size="L-XL")
    assert variant.quantity == quantity
    expected = [("initial", quantity, quantity, "user", "manager", manager.pk, "")]
    assert _movements(variant) == expected[:movements]
