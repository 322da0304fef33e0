"""A product's page in the admin shows its stock by size and location: on hand, committed,
available and incoming at each, low levels marked, in a fixed number of queries."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from catalog import selectors
from core.actors import system_actor
from stock.locations import location_create
from stock.selectors import product_stock_grid
from stock.services import stock_adjust, stock_level_settings_set
from stock.transfers import TransferLineRequest, transfer_create, transfer_ship

pytestmark = pytest.mark.django_db

ACTOR = system_actor("test")


def _page(client, product):
    response = client.get(reverse("admin:catalog_product_change", args=[product.pk]))
    assert response.status_code == 200
    return response.content.decode()


def _cells(html, sku):
    """The grid's numbers of the row of ``sku``, location after location, then the totals."""
    row = re.search(rf'<tr data-sku="{sku}">(.*?)</tr>', html, re.S)
    assert row, sku
    return [
        re.sub(r"<[^>]+>", "", cell).strip()
        for cell in re.findall(r'<td class="num[^"]*" data-cell="\w+">(.*?)</td>', row.group(1))
    ]


def test_the_grid_shows_each_size_at_each_location(manager_web, make_product, place_order,
                                                    main, store):  # fmt: skip
    tee = make_product(name="Tee", stock={"S-M": 6, "L-XL": 1})
    small, large = tee.variants.get(size="S-M"), tee.variants.get(size="L-XL")
    place_order((small, 2))
    transfer = transfer_create(
        from_location=main,
        to_location=store,
        lines=[TransferLineRequest(variant_id=small.pk, quantity=3)],
        actor=ACTOR,
    )
    transfer_ship(transfer_id=transfer.pk, actor=ACTOR)
    stock_level_settings_set(
        variant=large, location=main, low_stock_threshold=0, target=None, actor=ACTOR
    )

    html = _page(manager_web, tee)

    assert 'id="stock-grid"' in html
    heads = re.findall(r'data-location="([A-Z0-9-]+)"', html)
    assert heads == ["MAIN", "STORE-01"]
    # S-M: MAIN 6 - 3 shipped = 3 on hand, 2 committed, 1 available (low by the variant's 2);
    # STORE-01 nothing on hand, 3 incoming. Totals: 3, 2, 1, 3.
    assert _cells(html, small.sku) == ["3", "2", "1", "0", "0", "0", "0", "+3", "3", "2", "1", "3"]
    # L-XL: 1 at MAIN, not low by the level's own threshold (0); never at the shop.
    assert _cells(html, large.sku) == ["1", "0", "1", "0", "—", "—", "—", "—", "1", "0", "1", "0"]
    small_row = re.search(rf'<tr data-sku="{small.sku}">(.*?)</tr>', html, re.S).group(1)
    large_row = re.search(rf'<tr data-sku="{large.sku}">(.*?)</tr>', html, re.S).group(1)
    assert 'stock-badge stock-low">1<' in small_row
    assert 'stock-badge">1<' in large_row


def test_store_staff_see_the_grid_too(login, store_staff, make_product):
    tee = make_product(name="Tee", stock={"S-M": 2})
    assert 'id="stock-grid"' in _page(login(store_staff), tee)


def test_a_new_product_s_page_has_no_grid(manager_web):
    response = manager_web.get(reverse("admin:catalog_product_add"))
    assert response.status_code == 200
    assert 'id="stock-grid"' not in response.content.decode()


def test_the_grid_costs_two_queries_however_many_sizes_and_locations(
    manager_web, make_product, django_assert_num_queries
):
    tee = make_product(name="Tee", stock={"S-M": 1, "L-XL": 1, "One Size": 1})

    def page_queries():
        with CaptureQueriesContext(connection) as queries:
            _page(manager_web, tee)
        return len(queries)

    _page(manager_web, tee)  # once first: what a first request reads once per process
    before = page_queries()
    for n in range(3):
        shop = location_create(code=f"SHOP-{n}", name=f"Shop {n}", kind="store")
        for variant in tee.variants.all():
            stock_adjust(variant_id=variant.pk, delta=2, reason="received", actor=ACTOR,
                         location=shop)  # fmt: skip
    html = _page(manager_web, tee)
    assert re.findall(r'data-location="([A-Z0-9-]+)"', html) == [
        "MAIN",
        "SHOP-0",
        "SHOP-1",
        "SHOP-2",
    ]
    assert page_queries() == before
    # The grid itself: the levels, the locations (the sizes come with the product).
    product = selectors.product_get(product_id=tee.pk)
    variants = list(product.variants.all())
    with django_assert_num_queries(2):
        grid = product_stock_grid(variants)
    assert [len(row.cells) for row in grid.rows] == [4, 4, 4]


def test_the_variant_page_shows_each_level_s_incoming_threshold_and_target(
    manager_web, make_product, main, store
):
    small = make_product(name="Tee", stock={"S-M": 6}).variants.get()
    transfer = transfer_create(
        from_location=main,
        to_location=store,
        lines=[TransferLineRequest(variant_id=small.pk, quantity=2)],
        actor=ACTOR,
    )
    transfer_ship(transfer_id=transfer.pk, actor=ACTOR)
    stock_level_settings_set(
        variant=small, location=store, low_stock_threshold=3, target=10, actor=ACTOR
    )
    html = manager_web.get(reverse("admin:catalog_variant_change", args=[small.pk])).content
    table = html.decode().split('class="stock-levels"', 1)[1].split("</table>", 1)[0]
    rows = [
        re.findall(r"<td[^>]*>([^<]*)</td>", row) for row in re.findall(r"<tr><td>.*?</tr>", table)
    ]
    # MAIN: 4 left, the variant's threshold (2) and the default target (3), marked as defaults;
    # the shop: nothing on hand yet, 2 incoming, its own threshold and target.
    assert rows == [
        ["MAIN (Main stock)", "4", "0", "4", "0", "2*", "3*"],
        ["STORE-01 (Shop in town)", "0", "0", "0", "2", "3", "10"],
    ]
