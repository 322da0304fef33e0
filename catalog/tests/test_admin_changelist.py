"""The product list in the admin: its filters and search, its stock badges, and a number of
queries that does not grow with the list."""

import re
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from catalog.models import Product
from catalog.tests.admin_support import PRODUCTS, VARIANTS
from catalog.tests.support import admin_url

pytestmark = pytest.mark.django_db


def _changelist_products(response: Any) -> set[Product]:
    return set(response.context["cl"].queryset)


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
