"""The staff's stock dashboard and the SKU finder in the admin's header."""

import re

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.urls import reverse

from catalog.models import Variant
from catalog.services import StockChange, stock_apply
from conftest import TEST_ACTOR

pytestmark = pytest.mark.django_db

DASHBOARD = reverse("admin-dashboard")
FIND = reverse("admin-find")


@pytest.fixture
def shop(make_product, place_order_for_dashboard):
    tee = make_product(name="Organic Tee", price="20.00", stock={"S-M": 10, "L-XL": 1})
    make_product(
        name="Merino Sweater",
        category="Sweaters",
        price="90.00",
        collection="SS25",
        stock={"One Size": 0},
    )
    place_order_for_dashboard(tee.variants.get(size="S-M"), 3)
    return tee


@pytest.fixture
def place_order_for_dashboard(db):
    from inventory_project.api.authentication import api_key_actor
    from inventory_project.api.services import api_key_create
    from orders.services import LineRequest, order_place

    api_key, _ = api_key_create(name="web-shop", scopes=["orders:write"])

    def place(variant, quantity):
        return order_place(
            lines=[LineRequest(variant_id=variant.pk, quantity=quantity)],
            actor=api_key_actor(api_key),
        )

    return place


def _kpi(html, name):
    return re.search(rf'data-kpi="{name}">([^<]+)<', html).group(1).strip()


def test_the_dashboard_shows_stock_sales_low_stock_and_movements(manager_web, shop):
    response = manager_web.get(DASHBOARD)
    assert response.status_code == 200
    html = response.content.decode()
    assert _kpi(html, "units") == "8"  # 10 - 3 sold + 1
    assert _kpi(html, "value") == "160.00 EUR"
    assert _kpi(html, "low") == "2"  # L-XL at 1, the sweater sold out
    assert _kpi(html, "orders") == "1"
    assert _kpi(html, "revenue") == "60.00 EUR"
    # Both bar charts, one bar per category and per collection.
    assert len(re.findall(r'class="bar" style="width: [0-9.]+%"', html)) == 2 + 2
    # Thirty columns per day chart; today's order is one of them.
    for chart in ("orders-per-day", "units-per-day"):
        svg = html.split(f'id="{chart}"')[1].split("</svg>")[0]
        assert svg.count('<rect class="column"') == 30
    # The low-stock rows link to their variants; the ledger's latest rows too.
    sold_out = Variant.objects.get(product__name="Merino Sweater")
    assert (
        reverse("admin:catalog_variant_change", args=[sold_out.pk])
        in html.split('id="low-stock"')[1]
    )
    movements = html.split('id="latest-movements"')[1]
    assert "Sale" in movements
    assert "-3" in movements


def test_the_dashboard_costs_the_same_queries_for_a_large_catalog(
    manager_web, make_product, django_assert_num_queries
):
    make_product(name="First", stock={"S-M": 1})
    with django_assert_num_queries(QUERIES):
        assert manager_web.get(DASHBOARD).status_code == 200
    for index in range(40):
        product = make_product(name=f"Product {index}", stock={"S-M": index % 3, "L-XL": 5})
        stock_apply(
            changes=[StockChange(variant_id=product.variants.get(size="L-XL").pk, delta=1)],
            reason="received",
            actor=TEST_ACTOR,
        )
    with django_assert_num_queries(QUERIES):
        assert manager_web.get(DASHBOARD).status_code == 200


# The session, the user, its permissions (2), two groupings of stock value, the low-stock list,
# the sales per day, the latest movements.
QUERIES = 9


def test_staff_who_may_not_see_orders_see_stock_only(login, shop):
    clerk = User.objects.create_user("viewer", password="pw", is_staff=True)
    clerk.user_permissions.add(Permission.objects.get(codename="view_variant"))
    html = login(clerk).get(DASHBOARD).content.decode()
    assert 'data-kpi="value"' in html
    assert 'data-kpi="revenue"' not in html
    assert 'id="orders-per-day"' not in html


def test_who_may_open_the_dashboard(login, shop):
    assert Client().get(DASHBOARD).status_code == 302  # to the admin's login
    no_rights = User.objects.create_user("intern", password="pw", is_staff=True)
    assert login(no_rights).get(DASHBOARD).status_code == 403
    customer = User.objects.create_user("customer", password="pw")
    assert login(customer).get(DASHBOARD).status_code == 302


def test_the_index_links_the_dashboard_and_every_admin_page_has_the_finder(manager_web):
    index = manager_web.get(reverse("admin:index")).content.decode()
    assert f'href="{DASHBOARD}"' in index
    assert 'class="sku-finder"' in index
    products = manager_web.get(reverse("admin:catalog_product_changelist")).content.decode()
    assert f'action="{FIND}"' in products


def test_the_finder_opens_a_variant_by_exact_sku_or_barcode(manager_web, make_product):
    product = make_product(stock={"S-M": 1, "L-XL": 1})
    variant = product.variants.get(size="L-XL")
    Variant.objects.filter(pk=variant.pk).update(barcode="4006381333931")
    change = reverse("admin:catalog_variant_change", args=[variant.pk])

    assert manager_web.get(FIND, {"q": variant.sku})["Location"] == change
    assert manager_web.get(FIND, {"q": f"  {variant.sku.lower()} "})["Location"] == change
    assert manager_web.get(FIND, {"q": "4006381333931"})["Location"] == change
    # Anything else: the variants' list, searched.
    changelist = reverse("admin:catalog_variant_changelist")
    assert manager_web.get(FIND, {"q": "Organic"})["Location"] == f"{changelist}?q=Organic"
    assert manager_web.get(FIND)["Location"] == changelist
