"""Deleting and archiving products and variants in the admin: only what has no stock goes."""

from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from catalog.models import IssuedSku, Product, Variant
from catalog.tests.admin_support import PRODUCTS, _form_errors, _messages
from catalog.tests.support import admin_url, product_form_data

pytestmark = pytest.mark.django_db


# Deleting


def test_a_product_without_stock_can_be_deleted(manager_web: Client, make_product):
    product = make_product(stock={"S-M": 0, "L-XL": 0})
    skus = set(product.variants.values_list("sku", flat=True))

    confirmation = manager_web.get(admin_url("delete", product))
    response = manager_web.post(admin_url("delete", product), {"post": "yes"})

    assert confirmation.status_code == 200
    assert response.status_code == 302
    assert not Product.objects.filter(pk=product.pk).exists()
    assert not Variant.objects.exists()
    # The SKUs stay issued, so they are never given to another variant.
    assert set(IssuedSku.objects.values_list("sku", flat=True)) == skus


def test_a_product_with_stock_cannot_be_deleted(manager_web: Client, make_product):
    product = make_product(stock={"S-M": 1, "L-XL": 0})

    confirmation = manager_web.get(admin_url("delete", product))
    response = manager_web.post(admin_url("delete", product), {"post": "yes"})

    assert confirmation.status_code == 403
    assert response.status_code == 403
    assert Product.objects.filter(pk=product.pk).exists()
    assert Variant.objects.filter(product=product).count() == 2


def test_the_delete_action_refuses_products_with_stock(manager_web: Client, make_product):
    stocked = make_product(name="Stocked", stock={"S-M": 1})
    empty = make_product(name="Empty", stock={"S-M": 0})

    response = manager_web.post(
        PRODUCTS,
        {"action": "delete_selected", "_selected_action": [stocked.pk, empty.pk], "post": "yes"},
    )

    # Its stock movements are protected: Django's page lists them instead of deleting.
    assert response.status_code == 200
    assert "Cannot delete products" in response.content.decode()
    assert set(Product.objects.all()) == {stocked, empty}


def test_the_delete_action_deletes_products_without_stock(manager_web: Client, make_product):
    empty = make_product(name="Empty", stock={"S-M": 0})
    kept = make_product(name="Kept", stock={"S-M": 0})

    response = manager_web.post(
        PRODUCTS, {"action": "delete_selected", "_selected_action": [empty.pk], "post": "yes"}
    )

    assert response.status_code == 302
    assert list(Product.objects.all()) == [kept]


def test_the_variant_admin_deletes_only_variants_without_stock(manager_web: Client, make_product):
    product = make_product(stock={"S-M": 3, "L-XL": 0})
    stocked, empty = product.variants.get(size="S-M"), product.variants.get(size="L-XL")

    refused = manager_web.post(
        reverse("admin:catalog_variant_delete", args=[stocked.pk]), {"post": "yes"}
    )
    deleted = manager_web.post(
        reverse("admin:catalog_variant_delete", args=[empty.pk]), {"post": "yes"}
    )

    assert refused.status_code == 403
    assert deleted.status_code == 302
    assert list(product.variants.all()) == [stocked]
    assert IssuedSku.objects.filter(sku=empty.sku).exists()


def test_deleting_an_inline_variant_with_stock_is_refused(manager_web: Client, make_product):
    product = make_product(stock={"S-M": 3, "L-XL": 0})
    sku = product.variants.get(size="S-M").sku

    response = manager_web.post(
        admin_url("change", product), product_form_data(product, rows={"S-M": {"DELETE": "on"}})
    )

    assert response.status_code == 200
    assert sku in " ".join(_form_errors(response)["variants"])
    assert product.variants.count() == 2


def test_deleting_an_inline_variant_without_stock(manager_web: Client, make_product):
    product = make_product(stock={"S-M": 3, "L-XL": 0})
    sku = product.variants.get(size="L-XL").sku

    response = manager_web.post(
        admin_url("change", product), product_form_data(product, rows={"L-XL": {"DELETE": "on"}})
    )

    assert response.status_code == 302
    assert list(product.variants.values_list("size", flat=True)) == ["S-M"]
    assert IssuedSku.objects.filter(sku=sku).exists()


# Actions


def test_archive_and_unarchive_actions(manager_web: Client, make_product):
    first, second, _ = (make_product(name=name) for name in ("One", "Two", "Three"))

    archived = manager_web.post(
        PRODUCTS, {"action": "archive", "_selected_action": [first.pk, second.pk]}
    )

    assert archived.status_code == 302
    assert [str(m) for m in _messages(archived)] == ["2 product(s) archived."]
    assert dict(Product.objects.values_list("name", "is_active")) == {
        "One": False,
        "Two": False,
        "Three": True,
    }

    unarchived = manager_web.post(PRODUCTS, {"action": "unarchive", "_selected_action": [first.pk]})

    assert unarchived.status_code == 302
    assert dict(Product.objects.values_list("name", "is_active")) == {
        "One": True,
        "Two": False,
        "Three": True,
    }


def test_store_staff_cannot_archive(
    login: Callable[[User], Client], store_staff: User, make_product
):
    product = make_product()

    login(store_staff).post(PRODUCTS, {"action": "archive", "_selected_action": [product.pk]})

    product.refresh_from_db()
    assert product.is_active is True
