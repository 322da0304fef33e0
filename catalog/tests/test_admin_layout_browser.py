"""The admin at a laptop's width (1366 px) and a phone's (390 px), in a real browser: no page
scrolls sideways, every stock field of a product's variants is on screen, and a stock change
made on a phone lands in the ledger. Also the product list's Export CSV, downloaded with the
list's filter. Screenshots of every page at both widths go to test-artifacts/layout-*.png.

As in test_admin_browser.py, the data is set up before Playwright starts and checked after it
stops: the sync Playwright API runs an event loop in this thread, where Django refuses ORM
calls."""

import csv
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Page, expect

from catalog.models import Product
from catalog.tests.support import (
    BROWSER_TEST_MARKS,
    admin_log_in,
    chromium_page,
    screenshot_taker,
)
from core.api.authentication import api_key_actor
from core.api.services import api_key_create
from orders.services import LineRequest, order_place, order_transition
from stock.models import StockMovement

pytestmark = BROWSER_TEST_MARKS

STOCK_FIELDS = ("stock_change", "stock_reason", "counted_quantity", "stock_note")


@pytest.fixture
def screenshot() -> Callable[[Page, str], None]:
    return screenshot_taker("layout")


@pytest.fixture
def shop(make_product: Callable[..., Product]) -> dict[str, Any]:
    """A catalog (a tee in two sizes: room for a third), an order placed and one fulfilled."""
    tee = make_product(name="Organic Cotton Tee", stock={"S-M": 14, "L-XL": 3})
    make_product(name="Merino Crew Sweater", category="Sweaters", stock={"S-M": 2, "L-XL": 0})
    pants = make_product(
        name="Wide Leg Pants", category="Pants", color="Olive", stock={"One Size": 9}
    )
    api_key, _ = api_key_create(name="web-shop", scopes=["orders:write"])
    actor = api_key_actor(api_key)
    variants = [*tee.variants.order_by("id"), pants.variants.get()]
    placed = order_place(
        lines=[LineRequest(variant_id=variants[0].pk, quantity=2)],
        actor=actor,
        customer_reference="web-1001",
    )
    fulfilled = order_place(
        lines=[
            LineRequest(variant_id=variants[1].pk, quantity=1),
            LineRequest(variant_id=variants[2].pk, quantity=2),
        ],
        actor=actor,
        customer_reference="web-1002",
    )
    for action in ("pay", "fulfil"):
        order_transition(order_id=fulfilled.pk, action=action, actor=actor)
    return {"tee": tee, "variant": variants[0], "placed": placed, "fulfilled": fulfilled}


def _page_fits(page: Page) -> None:
    """The page is no wider than the window: nothing to scroll sideways."""
    width = page.evaluate("window.innerWidth")
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width, f"{page.url}: {scroll_width} px wide in a {width} px window"


def _on_screen_across(page: Page, selector: str) -> None:
    """Every element matching ``selector`` is visible, its box within the window's width."""
    width = page.evaluate("window.innerWidth")
    elements = page.locator(selector)
    assert elements.count() > 0, selector
    for index in range(elements.count()):
        element = elements.nth(index)
        expect(element).to_be_visible()
        box = element.bounding_box()
        assert box is not None
        assert box["x"] >= 0, (selector, index, box)
        assert box["x"] + box["width"] <= width, (selector, index, box, width)


@pytest.mark.parametrize("width", [1366, 390])
def test_the_admin_fits_a_laptop_and_a_phone(
    live_server, manager: User, shop, screenshot, width: int
):
    tee, placed, fulfilled = shop["tee"], shop["placed"], shop["fulfilled"]
    pages = {
        "product": f"/admin/catalog/product/{tee.pk}/change/",
        "product-add": "/admin/catalog/product/add/",
        "products": "/admin/catalog/product/",
        "variants": "/admin/catalog/variant/",
        "variant": f"/admin/catalog/variant/{shop['variant'].pk}/change/",
        "orders": "/admin/orders/order/",
        "order": f"/admin/orders/order/{placed.pk}/change/",
        "order-cancel": f"/admin/orders/order/{placed.pk}/cancel/",
        "order-return": f"/admin/orders/order/{fulfilled.pk}/return/",
        "dashboard": "/admin/dashboard/",
        "users": "/admin/auth/user/",
        "user-add": "/admin/auth/user/add/",
    }

    with chromium_page() as page:
        page.set_viewport_size({"width": width, "height": 900})
        admin_log_in(page, live_server.url, manager.username)
        for name, path in pages.items():
            page.goto(f"{live_server.url}{path}")
            expect(page.locator("#content")).to_be_visible()
            screenshot(page, f"{width}-{name}")
            _page_fits(page)

        # Every stock field of every variant of the product, on screen.
        page.goto(f"{live_server.url}{pages['product']}")
        for field in STOCK_FIELDS:
            _on_screen_across(
                page, f".variant-rows tr.form-row:not(.empty-form) [name$='-{field}']"
            )
        _on_screen_across(page, ".variant-rows tr.form-row:not(.empty-form) .stock-badge")
        if width == 1366:
            # On a laptop each variant is two lines: its fields, then its stock change.
            rows = page.locator(".variant-rows tr.form-row:not(.empty-form)")
            for index in range(rows.count()):
                sku = rows.nth(index).locator("[name$='-sku']").bounding_box()
                change = rows.nth(index).locator("[name$='-stock_change']").bounding_box()
                note = rows.nth(index).locator("[name$='-stock_note']").bounding_box()
                assert sku is not None
                assert change is not None
                assert note is not None
                assert change["y"] > sku["y"]
                assert abs(change["y"] - note["y"]) < 10  # the stock change on one line

        # A row added for a new size fits too.
        page.get_by_role("button", name="Add another Variant").click()
        _page_fits(page)
        _on_screen_across(page, ".variant-rows tr.form-row:not(.empty-form) [name$='-size']")
        screenshot(page, f"{width}-product-new-row")


def test_store_staff_change_stock_on_a_phone(live_server, store_staff: User, shop, screenshot):
    tee: Product = shop["tee"]
    variant = tee.variants.get(size="L-XL")
    index = list(tee.variants.order_by("id")).index(variant)
    before = variant.quantity

    with chromium_page() as page:
        page.set_viewport_size({"width": 390, "height": 844})
        admin_log_in(page, live_server.url, store_staff.username)
        page.goto(f"{live_server.url}/admin/catalog/product/{tee.pk}/change/")
        _page_fits(page)
        # The product's own fields are read-only for store staff; the stock fields work.
        expect(page.locator("#id_name")).to_have_count(0)
        page.fill(f"#id_variants-{index}-stock_change", "12")
        page.select_option(f"#id_variants-{index}-stock_reason", "received")
        page.fill(f"#id_variants-{index}-stock_note", "Delivery 8812")
        _on_screen_across(page, f"#id_variants-{index}-stock_note")
        screenshot(page, "390-store-staff-stock-change")
        page.locator("input[name=_save]").click()
        expect(page.locator(".messagelist .success")).to_be_visible()
        screenshot(page, "390-store-staff-saved")
        _page_fits(page)

    variant.refresh_from_db()
    assert variant.quantity == before + 12
    movement = StockMovement.objects.latest("id")
    assert (
        movement.variant_id,
        movement.delta,
        movement.reason,
        movement.user_id,
        movement.note,
    ) == (
        variant.pk,
        12,
        "received",
        store_staff.pk,
        "Delivery 8812",
    )


def test_export_csv_downloads_what_the_filtered_list_shows(
    live_server, manager: User, shop, screenshot
):
    expected = sorted(
        Product.objects.get(category="Sweaters").variants.values_list("sku", flat=True)
    )

    with chromium_page() as page:
        admin_log_in(page, live_server.url, manager.username)
        page.goto(f"{live_server.url}/admin/catalog/product/")
        page.locator("#changelist-filter").get_by_role("link", name="Sweaters").click()
        expect(page.locator("#result_list tbody tr")).to_have_count(1)
        screenshot(page, "1400-products-filtered")
        with page.expect_download() as download:
            page.get_by_role("link", name="Export CSV").click()
        body = Path(download.value.path()).read_text(encoding="utf-8-sig")

    rows = list(csv.DictReader(io.StringIO(body)))
    assert sorted(row["sku"] for row in rows) == expected
    assert {row["category"] for row in rows} == {"Sweaters"}
