"""A store clerk's day in a real browser: find a variant by its SKU from the header, receive a
delivery with a reason, see the movement, open the dashboard and see its charts drawn, cancel an
order and see its stock come back. Screenshots go to test-artifacts/staff-*.png.

The data is set up before Playwright starts and checked after it stops (see
test_admin_browser.py for why)."""

import re

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import expect

from catalog.models import Variant
from catalog.tests.support import BROWSER_TEST_MARKS, admin_log_in, chromium_page, screenshot_taker
from core.api.authentication import api_key_actor
from core.api.services import api_key_create
from orders.models import Order
from orders.services import LineRequest, order_place, order_transition
from stock.models import StockMovement

pytestmark = BROWSER_TEST_MARKS


@pytest.fixture
def screenshot():
    return screenshot_taker("staff")


def test_a_clerks_day_in_the_admin(live_server, store_staff: User, make_product, screenshot):
    tee = make_product(name="Organic Cotton Tee", price="29.90", stock={"S-M": 2, "L-XL": 8})
    make_product(
        name="Merino Crew Sweater",
        category="Sweaters",
        price="119.00",
        collection="SS25",
        stock={"S-M": 4, "L-XL": 0},
    )
    make_product(name="Wide Leg Pants", category="Pants", price="79.00", stock={"One Size": 6})
    sm = tee.variants.get(size="S-M")
    lxl = tee.variants.get(size="L-XL")
    api_key, _ = api_key_create(name="web-shop", scopes=["orders:write"])
    order = order_place(
        lines=[LineRequest(variant_id=lxl.pk, quantity=3)], actor=api_key_actor(api_key)
    )
    # Paid, so the dashboard's sales show it (an unpaid order is not a sale).
    order_transition(order_id=order.pk, action="pay", actor=api_key_actor(api_key))

    with chromium_page() as page:
        admin_log_in(page, live_server.url, store_staff.username)

        # Find the variant by the SKU on its label, from the header.
        page.fill("#sku-finder-q", sm.sku.lower())
        page.press("#sku-finder-q", "Enter")
        expect(page).to_have_url(re.compile(rf"/admin/catalog/variant/{sm.pk}/change/$"))
        screenshot(page, "01-found-by-sku")

        # Receive a delivery for both sizes from the variants' list.
        page.goto(f"{live_server.url}/admin/catalog/variant/?q={tee.name.replace(' ', '+')}")
        page.locator(f"input[name=_selected_action][value='{sm.pk}']").check()
        page.locator(f"input[name=_selected_action][value='{lxl.pk}']").check()
        page.select_option("select[name=action]", "receive_stock")
        page.get_by_role("button", name="Go").click()
        expect(page.get_by_role("heading", name="Receive stock")).to_be_visible()
        sm_row = page.locator(f"tr[data-sku='{sm.sku}']")
        sm_row.locator("input[type=number]").fill("12")
        lxl_row = page.locator(f"tr[data-sku='{lxl.sku}']")
        lxl_row.locator("input[type=number]").fill("1")
        lxl_row.locator("select").select_option("returned")
        screenshot(page, "02-receive-form")
        page.get_by_role("button", name="Receive stock").click()
        expect(page.locator(".messagelist")).to_contain_text(
            "Received 13 units for 2 variants at MAIN."
        )
        screenshot(page, "03-received")

        # The movement is on the variant's page.
        page.goto(f"{live_server.url}/admin/catalog/variant/{sm.pk}/change/")
        expect(page.get_by_text("Received").first).to_be_visible()
        screenshot(page, "04-movement")

        # The dashboard, with its charts drawn.
        page.get_by_role("link", name="Dashboard").click()
        expect(page.get_by_role("heading", name="Stock dashboard")).to_be_visible()
        bars = page.locator("#by-category .bar")
        expect(bars).to_have_count(3)
        bar = bars.first.bounding_box()
        assert bar is not None
        assert bar["width"] > 100
        columns = page.locator("#units-per-day rect.column")
        expect(columns).to_have_count(30)
        today = columns.last.bounding_box()
        assert today is not None
        assert today["height"] > 10
        expect(page.locator("#low-stock")).to_contain_text("Merino Crew Sweater")
        screenshot(page, "05-dashboard")

        # Cancel the web shop's order; its three units come back.
        page.goto(f"{live_server.url}/admin/orders/order/")
        page.locator(f"input[name=_selected_action][value='{order.pk}']").check()
        page.select_option("select[name=action]", "cancel")
        page.get_by_role("button", name="Go").click()
        # The admin asks first, listing what goes back.
        expect(page.locator(f"tr[data-sku='{lxl.sku}']")).to_contain_text("3")
        page.get_by_role("button", name="Yes, cancel and restock").click()
        expect(page.locator(".messagelist")).to_contain_text(order.number)
        screenshot(page, "06-order-cancelled")
        page.goto(f"{live_server.url}/admin/catalog/variant/{lxl.pk}/change/")
        expect(page.get_by_text("Order cancelled").first).to_be_visible()
        screenshot(page, "07-stock-back")

    sm.refresh_from_db()
    lxl.refresh_from_db()
    assert (sm.quantity, lxl.quantity) == (2 + 12, 8 - 3 + 1 + 3)
    assert Order.objects.get(pk=order.pk).status == "cancelled"
    reasons = list(
        StockMovement.objects.filter(variant=lxl).order_by("id").values_list("reason", "actor")
    )
    assert reasons[-2:] == [("returned", "clerk"), ("order_cancelled", "clerk")]
    assert Variant.objects.get(pk=sm.pk).in_stock
