"""The product and variant lists: a barcode finds its product and its variant, and Export CSV
writes exactly the products the list shows, with its filters and search, on every page."""

import csv
import io
from collections.abc import Callable
from html import unescape
from typing import Any

import pytest
from django.contrib import messages
from django.test import Client
from django.urls import reverse

from catalog.admin.products import ProductAdmin
from catalog.models import Product

pytestmark = pytest.mark.django_db

PRODUCTS = reverse("admin:catalog_product_changelist")
VARIANTS = reverse("admin:catalog_variant_changelist")
EXPORT = reverse("admin:catalog_product_export")

TEE_BARCODE = "4006381333931"
PANTS_BARCODE = "5012345678900"


@pytest.fixture
def catalog(make_product: Callable[..., Product]) -> dict[str, Product]:
    """A tee with a barcode on its S-M, a sold-out sweater, archived pants with a barcode."""
    tee = make_product(name="Organic Cotton Tee", category="Tees", stock={"S-M": 5, "L-XL": 2})
    tee.variants.filter(size="S-M").update(barcode=TEE_BARCODE)
    sweater = make_product(
        name="Merino Crew Sweater", category="Sweaters", color="Navy", stock={"S-M": 0}
    )
    pants = make_product(
        name="Wide Leg Pants",
        category="Pants",
        collection="SS25",
        is_active=False,
        stock={"One Size": 4},
    )
    pants.variants.update(barcode=PANTS_BARCODE)
    return {"tee": tee, "sweater": sweater, "pants": pants}


def _listed(client: Client, url: str, query: dict[str, str]) -> list[Any]:
    response = client.get(url, query)
    assert response.status_code == 200
    return list(response.context["cl"].result_list)


def _exported(client: Client, url: str) -> list[str]:
    """The SKUs in the export downloaded from ``url``."""
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    body = response.getvalue().decode().lstrip("\ufeff")
    return [row["sku"] for row in csv.DictReader(io.StringIO(body))]


def _export_link(client: Client, query: dict[str, str]) -> str:
    """The Export CSV link of the product list opened with ``query``."""
    page = client.get(PRODUCTS, query).content.decode()
    start = page.index(f'href="{EXPORT}')
    return unescape(page[start + len('href="') : page.index('"', start + len('href="'))])


# Barcodes


def test_the_product_list_finds_a_product_by_a_barcode_of_its_variants(
    manager_web: Client, catalog
):
    assert _listed(manager_web, PRODUCTS, {"q": TEE_BARCODE}) == [catalog["tee"]]
    assert _listed(manager_web, PRODUCTS, {"q": PANTS_BARCODE}) == [catalog["pants"]]


def test_the_variant_list_finds_a_variant_by_its_barcode(manager_web: Client, catalog):
    tee_small = catalog["tee"].variants.get(size="S-M")

    assert _listed(manager_web, VARIANTS, {"q": TEE_BARCODE}) == [tee_small]


def test_a_product_found_by_barcode_is_listed_once(manager_web: Client, catalog):
    # Both of the tee's sizes share the start of a barcode: the search joins its variants.
    catalog["tee"].variants.filter(size="L-XL").update(barcode="4006381333948")

    assert _listed(manager_web, PRODUCTS, {"q": "400638133"}) == [catalog["tee"]]


# Export CSV follows the list


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        pytest.param({}, {"tee", "sweater", "pants"}, id="everything"),
        pytest.param({"category__exact": "Tees"}, {"tee"}, id="category"),
        pytest.param({"is_active__exact": "1"}, {"tee", "sweater"}, id="active"),
        pytest.param({"stock": "out"}, {"sweater"}, id="sold out"),
        pytest.param({"collection__exact": "SS25"}, {"pants"}, id="collection"),
        pytest.param({"q": "merino"}, {"sweater"}, id="search"),
        pytest.param({"q": TEE_BARCODE}, {"tee"}, id="barcode"),
        pytest.param({"q": "tee", "is_active__exact": "0"}, set(), id="nothing"),
    ],
)
def test_export_writes_exactly_the_products_the_list_shows(
    manager_web: Client, catalog, query, expected
):
    listed = set(_listed(manager_web, PRODUCTS, query))
    link = _export_link(manager_web, query)

    skus = _exported(manager_web, link)

    assert listed == {catalog[name] for name in expected}
    # Every variant of each product listed (a product's row shows all its sizes), none other.
    assert sorted(skus) == sorted(
        sku for product in listed for sku in product.variants.values_list("sku", flat=True)
    )


def test_export_is_not_cut_to_the_lists_page(
    manager_web: Client, make_product, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(ProductAdmin, "list_per_page", 2)
    products = [make_product(name=f"Tee {n}", stock={"S-M": 1}) for n in range(5)]
    make_product(name="Merino Crew Sweater", category="Sweaters", stock={"S-M": 1})

    second_page = _listed(manager_web, PRODUCTS, {"p": "2"})
    link = _export_link(manager_web, {"p": "2", "category__exact": "Tees"})

    assert len(second_page) == 2
    assert sorted(_exported(manager_web, link)) == sorted(
        product.variants.get().sku for product in products
    )


def test_the_export_link_keeps_the_lists_filters_and_search(manager_web: Client, catalog):
    link = _export_link(manager_web, {"category__exact": "Tees", "q": "cotton", "p": "1"})

    assert link == f"{EXPORT}?category__exact=Tees&q=cotton"
    assert _export_link(manager_web, {}) == EXPORT


def test_an_export_with_filters_the_list_does_not_know_exports_nothing(
    manager_web: Client, catalog
):
    response = manager_web.get(EXPORT, {"no_such_field__exact": "1"})

    assert response.status_code == 302
    assert response["Location"] == PRODUCTS
    assert [str(m) for m in messages.get_messages(response.wsgi_request)] == [
        "The list's filters are not valid; nothing was exported."
    ]
