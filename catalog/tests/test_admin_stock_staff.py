"""Store staff in the admin: they see the stock and the ledger and change stock, but add, edit or
delete no variant; without the stock permission, nobody changes stock from the admin."""

from collections.abc import Callable

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.urls import reverse

from catalog.models import Product, Variant
from catalog.tests.admin_stock_support import (
    DOORS,
    MOVEMENTS,
    VARIANT_ADD,
    VARIANTS,
    _everything,
    _movements,
    _post_stock,
)
from catalog.tests.support import admin_url
from stock.models import StockMovement

pytestmark = pytest.mark.django_db


def test_store_staff_see_the_stock_and_the_ledger(
    login: Callable[[User], Client], store_staff: User, tee: Product, small: Variant
):
    client = login(store_staff)
    movement = StockMovement.objects.get(variant=small)

    pages = {
        admin_url("change", tee): small.sku,
        VARIANTS: small.sku,
        MOVEMENTS: small.sku,
        admin_url("change", movement): "Opening quantity",
    }

    for url, expected in pages.items():
        response = client.get(url)
        assert response.status_code == 200, url
        assert expected in response.content.decode(), url
    # They open products and variants to change stock: every catalog field stays read-only.
    product_form = client.get(admin_url("change", tee)).context["adminform"].form
    assert not set(product_form.fields) & {"name", "price", "category", "collection"}
    # The ledger itself is read-only for them as for everyone.
    assert client.get(admin_url("change", movement)).context["has_change_permission"] is False


def test_store_staff_open_a_variants_page(
    login: Callable[[User], Client], store_staff: User, small: Variant
):
    response = login(store_staff).get(admin_url("change", small))

    assert response.status_code == 200
    assert small.sku in response.content.decode()
    # Only the stock fields are editable; the variant's own fields are read-only.
    editable = set(response.context["adminform"].form.fields)
    assert editable == {
        "stock_location",
        "stock_change",
        "stock_reason",
        "counted_quantity",
        "stock_note",
        "on_hand_seen",
    }


def test_store_staff_cannot_add_or_delete_variants(
    login: Callable[[User], Client], store_staff: User, tee: Product
):
    client = login(store_staff)
    large = tee.variants.get(size="L-XL")  # never had stock: a manager may delete it
    before = _everything()

    add_page = client.get(VARIANT_ADD)
    add = client.post(
        VARIANT_ADD,
        {"product": str(tee.pk), "size": "One Size", "quantity": "3", "low_stock_threshold": "2"},
    )
    delete = client.post(reverse("admin:catalog_variant_delete", args=[large.pk]), {"post": "yes"})

    assert (add_page.status_code, add.status_code, delete.status_code) == (403, 403, 403)
    assert _everything() == before


@pytest.mark.parametrize("door", DOORS)
def test_store_staff_change_stock_in_the_admin(
    login: Callable[[User], Client], store_staff: User, small: Variant, door
):
    response = _post_stock(
        login(store_staff), small, door, stock_change="3", stock_reason="returned"
    )

    assert response.status_code == 302
    small.refresh_from_db()
    assert small.quantity == 8
    assert _movements(small)[-1] == ("returned", 3, 8, "user", "clerk", store_staff.pk, "")


def test_changing_a_variant_without_the_stock_permission_changes_no_stock(
    login: Callable[[User], Client], small: Variant
):
    editor = User.objects.create_user(username="editor", password="pw", is_staff=True)
    editor.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="catalog",
            codename__in=["view_product", "change_product", "view_variant", "change_variant"],
        )
    )
    before = _everything()

    response = _post_stock(
        login(editor), small, "variant page", stock_change="5", stock_reason="received"
    )

    # The page saves (its barcode and threshold), but no stock: the stock fields do not work
    # without the stock permission.
    assert response.status_code == 302
    after = _everything()
    after.pop("log"), before.pop("log")  # the admin logs the (empty) change
    assert after == before
