"""The admin as store staff use it: who may open what, the changelist's filters and stock badges,
and saving, which goes through the same services and rules as the API."""

import hashlib
import re
from collections.abc import Callable
from typing import Any
from unittest import mock

import pytest
from django.contrib import messages
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from catalog import services
from catalog.models import IssuedSku, Product, Variant
from catalog.services import PRODUCT_FIELDS
from catalog.tests.support import admin_url, product_add_data, product_form_data
from catalog.validators import MAX_QUANTITY
from core.api.models import ApiKey

pytestmark = pytest.mark.django_db

# A valid EAN-13 (the GS1 example); the same digits with another last digit fail the check.
EAN13 = "4006381333931"
EAN13_WRONG_CHECK_DIGIT = "4006381333932"

PRODUCTS = reverse("admin:catalog_product_changelist")
PRODUCT_ADD = reverse("admin:catalog_product_add")
VARIANTS = reverse("admin:catalog_variant_changelist")
API_KEYS = reverse("admin:api_apikey_changelist")
API_KEY_ADD = reverse("admin:api_apikey_add")


def _form_errors(response: Any) -> dict[str, list[str]]:
    """Every error on a re-rendered change form: the product's by field, each inline row's as
    ``variants-<row>-<field>``, and the inline's own as ``variants``."""
    errors = {
        field: list(messages_)
        for field, messages_ in response.context["adminform"].form.errors.items()
    }
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        for index, form in enumerate(formset.forms):
            for field, messages_ in form.errors.items():
                errors[f"{formset.prefix}-{index}-{field}"] = list(messages_)
        if formset.non_form_errors():
            errors[formset.prefix] = list(formset.non_form_errors())
    return errors


def _changelist_products(response: Any) -> set[Product]:
    return set(response.context["cl"].queryset)


def _messages(response: Any) -> list[Any]:
    return list(messages.get_messages(response.wsgi_request))


# Who may open what


@pytest.mark.parametrize("user", ["admin_user", "manager"])
def test_catalog_pages_render_for_superusers_and_managers(
    request: pytest.FixtureRequest, login: Callable[[User], Client], make_product, user
):
    product = make_product(name="Organic Cotton Tee")
    variant = product.variants.get(size="S-M")
    client = login(request.getfixturevalue(user))

    pages = {
        PRODUCTS: product.name,
        PRODUCT_ADD: 'name="variants-TOTAL_FORMS"',
        admin_url("change", product): variant.sku,
        VARIANTS: variant.sku,
        admin_url("change", variant): variant.sku,
    }

    for url, expected in pages.items():
        response = client.get(url)
        assert response.status_code == 200, url
        assert expected in response.content.decode(), url


def test_api_key_pages_render_for_superusers(superuser_web: Client, make_key):
    make_key(name="Shop front")

    changelist = superuser_web.get(API_KEYS)
    add_page = superuser_web.get(API_KEY_ADD)

    assert changelist.status_code == 200
    assert "Shop front" in changelist.content.decode()
    assert add_page.status_code == 200
    assert 'name="scopes"' in add_page.content.decode()


@pytest.mark.parametrize("url", [API_KEYS, API_KEY_ADD])
def test_managers_manage_api_keys(manager_web: Client, url):
    # The store's manager issues and revokes the keys of its apps (see test_admin_access.py).
    assert manager_web.get(url).status_code == 200


def test_store_staff_see_the_catalog_read_only(
    login: Callable[[User], Client], store_staff: User, make_product
):
    product = make_product(name="Organic Cotton Tee")
    client = login(store_staff)

    changelist = client.get(PRODUCTS)
    change_page = client.get(admin_url("change", product))
    add_page = client.get(PRODUCT_ADD)
    post = client.post(PRODUCT_ADD, product_add_data({"size": "S-M"}))

    assert changelist.status_code == 200
    assert "Organic Cotton Tee" in changelist.content.decode()
    assert change_page.status_code == 200
    # They may open it to change stock, but none of the product's own fields.
    assert not set(change_page.context["adminform"].form.fields) & set(PRODUCT_FIELDS)
    assert add_page.status_code == 403
    assert post.status_code == 403
    assert Product.objects.count() == 1


@pytest.mark.parametrize("url", [API_KEYS, API_KEY_ADD])
def test_store_staff_cannot_open_the_api_keys(
    login: Callable[[User], Client], store_staff: User, url
):
    assert login(store_staff).get(url).status_code == 403


# The changelist


@pytest.fixture
def assortment(make_product) -> dict[str, Product]:
    """Three products, one in each stock state, in two collections; the pants are archived."""
    return {
        "tee": make_product(
            name="Organic Cotton Tee",
            category="Tees",
            color="Black",
            collection="FW24",
            # Created largest size first; the admin lists sizes smallest first.
            stock={"L-XL": 8, "S-M": 10},
        ),
        "sweater": make_product(
            name="Merino Crew Sweater",
            category="Sweaters",
            color="Navy",
            collection="SS25",
            # At the threshold (2) is low; one above it is not.
            stock={"S-M": 2, "L-XL": 3},
        ),
        "pants": make_product(
            name="Wide Leg Pants",
            category="Pants",
            color="Olive",
            collection="FW24",
            is_active=False,
            stock={"One Size": 0},
        ),
    }


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, {"tee", "sweater", "pants"}),
        ({"category__exact": "Tees"}, {"tee"}),
        ({"category__exact": "Sweaters"}, {"sweater"}),
        ({"collection__exact": "FW24"}, {"tee", "pants"}),
        ({"collection__exact": "SS25"}, {"sweater"}),
        ({"stock": "in"}, {"tee", "sweater"}),
        ({"stock": "out"}, {"pants"}),
        ({"is_active__exact": "1"}, {"tee", "sweater"}),
        ({"is_active__exact": "0"}, {"pants"}),
        ({"collection__exact": "FW24", "stock": "in"}, {"tee"}),
        ({"q": "merino"}, {"sweater"}),
        ({"q": "olive"}, {"pants"}),
        ({"q": "NAVY"}, {"sweater"}),
        ({"q": "no such thing"}, set()),
    ],
)
def test_changelist_filters_and_search(manager_web: Client, assortment, query, expected):
    response = manager_web.get(PRODUCTS, query)

    assert response.status_code == 200
    assert _changelist_products(response) == {assortment[name] for name in expected}


def test_low_stock_filter_lists_products_with_a_variant_at_or_below_its_threshold(
    manager_web: Client, assortment
):
    response = manager_web.get(PRODUCTS, {"stock": "low"})

    # A sold-out variant is at or below its threshold too, so "low" includes the sold-out
    # pants (as the API's low_stock=true does); the well-stocked tee is not listed.
    assert _changelist_products(response) == {assortment["sweater"], assortment["pants"]}


def test_search_finds_a_product_by_the_sku_of_one_of_its_variants(manager_web: Client, assortment):
    sku = assortment["tee"].variants.get(size="L-XL").sku

    response = manager_web.get(PRODUCTS, {"q": sku.lower()})

    assert _changelist_products(response) == {assortment["tee"]}


def _stock_badges(html: str, product: Product) -> list[tuple[str, str]]:
    """The (css class, text) of each stock badge in the product's changelist row."""
    change_url = admin_url("change", product)
    row = next(row for row in html.split("<tr") if change_url in row)
    return re.findall(r'<span class="stock-badge (stock-[a-z]+)" title="[^"]*">([^<]*)</span>', row)


def test_changelist_shows_a_stock_badge_per_size(manager_web: Client, assortment):
    response = manager_web.get(PRODUCTS)
    html = response.content.decode()

    assert "catalog/admin.css" in html
    # Sizes read smallest first, whatever order the variants were created in (see the tee).
    assert _stock_badges(html, assortment["tee"]) == [
        ("stock-ok", "S-M 10"),
        ("stock-ok", "L-XL 8"),
    ]
    assert _stock_badges(html, assortment["sweater"]) == [
        ("stock-low", "S-M 2"),
        ("stock-ok", "L-XL 3"),
    ]
    assert _stock_badges(html, assortment["pants"]) == [("stock-out", "One Size 0")]


def test_variant_changelist_shows_the_stock_badges(manager_web: Client, assortment):
    html = manager_web.get(VARIANTS).content.decode()

    badges = re.findall(r'class="stock-badge (stock-[a-z]+)" title="[^"]*">([^<]*)<', html)
    assert sorted(badges) == sorted(
        [
            ("stock-ok", "S-M 10"),
            ("stock-ok", "L-XL 8"),
            ("stock-low", "S-M 2"),
            ("stock-ok", "L-XL 3"),
            ("stock-out", "One Size 0"),
        ]
    )


def test_changelist_queries_do_not_grow_with_the_number_of_products(
    manager_web: Client, make_product
):
    make_product(name="First")
    manager_web.get(PRODUCTS)  # Warm the caches (content types, permissions) first.
    with CaptureQueriesContext(connection) as few:
        manager_web.get(PRODUCTS)
    for index in range(5):
        make_product(name=f"More {index}")
    with CaptureQueriesContext(connection) as many:
        response = manager_web.get(PRODUCTS)

    assert response.context["cl"].result_count == 6
    assert len(many) == len(few)


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


# API keys


def test_adding_an_api_key_shows_its_raw_value_once(superuser_web: Client):
    response = superuser_web.post(
        API_KEY_ADD,
        {"name": "Till 3", "scopes": ["stock:write"], "expires_at_0": "", "expires_at_1": ""},
    )

    assert response.status_code == 302
    api_key = ApiKey.objects.get()
    assert (api_key.name, api_key.scopes, api_key.revoked_at) == ("Till 3", ["stock:write"], None)
    warnings = [m for m in _messages(response) if m.level == messages.WARNING]
    assert len(warnings) == 1
    shown = re.search(r"The key for Till 3 is (\S+) — copy it now", str(warnings[0]))
    assert shown is not None
    raw_key = shown.group(1)
    assert hashlib.sha256(raw_key.encode()).hexdigest() == api_key.hashed_key
    assert raw_key.startswith(api_key.prefix)
    products = Client().get("/api/v1/products/", HTTP_AUTHORIZATION=f"Api-Key {raw_key}")
    assert products.status_code == 200
    # Not stored: neither the key's row nor the admin's history holds it.
    assert not LogEntry.objects.filter(change_message__contains=raw_key).exists()
    assert not LogEntry.objects.filter(object_repr__contains=raw_key).exists()
    # Shown once, on the page the admin redirects to, and on no page after that.
    assert raw_key in superuser_web.get(response["Location"]).content.decode()
    for url in (API_KEYS, reverse("admin:api_apikey_change", args=[api_key.pk])):
        assert raw_key not in superuser_web.get(url).content.decode()


def test_revoke_action_revokes_the_selected_keys(superuser_web: Client, make_key):
    revoked_raw = make_key(name="Lost tablet")
    kept_raw = make_key(name="Web shop")
    lost = ApiKey.objects.get(name="Lost tablet")

    response = superuser_web.post(API_KEYS, {"action": "revoke", "_selected_action": [lost.pk]})

    assert response.status_code == 302
    assert [str(m) for m in _messages(response)] == ["1 key(s) revoked."]
    revoked_at = dict(ApiKey.objects.values_list("name", "revoked_at"))
    assert revoked_at["Lost tablet"] is not None
    assert revoked_at["Web shop"] is None
    api = Client()
    assert (
        api.get("/api/v1/products/", HTTP_AUTHORIZATION=f"Api-Key {revoked_raw}").status_code == 401
    )
    assert api.get("/api/v1/products/", HTTP_AUTHORIZATION=f"Api-Key {kept_raw}").status_code == 200
