"""Replenishment in a real browser: a manager opens the Replenishment page from the admin's
shortcuts, chooses the shop and the warehouse, reads the suggestion, drafts the transfer with
one click, then finds it among the dashboard's open transfers and the product's stock grid.
Screenshots go to test-artifacts/replenishment-*.png.

The data is set up before Playwright starts and checked after it stops (see
catalog/tests/test_admin_browser.py for why)."""

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import expect

from catalog.tests.support import BROWSER_TEST_MARKS, admin_log_in, chromium_page, screenshot_taker
from core.actors import system_actor
from stock.locations import location_create
from stock.models import StockLevel, Transfer, TransferStatus
from stock.services import stock_adjust, stock_level_settings_set

pytestmark = BROWSER_TEST_MARKS

ACTOR = system_actor("test")


@pytest.fixture
def screenshot():
    return screenshot_taker("replenishment")


def test_a_manager_drafts_a_replenishment(live_server, manager: User, make_product, screenshot):
    store = location_create(code="STORE-01", name="Shop in town", kind="store")
    tee = make_product(name="Organic Tee", stock={"S-M": 12, "L-XL": 2})
    small, large = tee.variants.get(size="S-M"), tee.variants.get(size="L-XL")
    stock_adjust(variant_id=small.pk, delta=1, reason="received", actor=ACTOR, location=store)
    stock_level_settings_set(
        variant=large, location=store, low_stock_threshold=1, target=4, actor=ACTOR
    )
    before = sorted(StockLevel.objects.values_list("variant_id", "location_id", "on_hand"))

    with chromium_page() as page:
        admin_log_in(page, live_server.url, manager.username)
        page.get_by_role("navigation", name="Shortcuts").get_by_role(
            "link", name="Replenishment"
        ).click()
        page.get_by_label("Replenish").select_option("STORE-01")
        page.get_by_label("from").select_option("MAIN")
        page.get_by_role("button", name="Show suggestions").click()
        lines = page.locator("#replenishment-lines tbody tr")
        expect(lines).to_have_count(2)
        # S-M: 1 at the shop, target 3 -> 2; L-XL: none there, its target 4, MAIN has 2.
        expect(page.locator(f'[data-suggested="{small.sku}"]')).to_have_text("2")
        expect(page.locator(f'[data-suggested="{large.sku}"]')).to_have_text("2")
        screenshot(page, "01-suggestion")

        page.get_by_label("Note").fill("Saturday")
        page.get_by_role("button", name="Create draft transfer (4 units)").click()
        message = page.locator(".messagelist .success")
        expect(message).to_contain_text("Draft transfer TR-")
        expect(message).to_contain_text("from MAIN to STORE-01: 4 units")
        screenshot(page, "02-drafted")

        page.get_by_role("link", name="Dashboard", exact=True).click()
        expect(page.locator("#open-transfers tbody tr")).to_have_count(1)
        expect(page.locator("#stock-by-location")).to_contain_text("STORE-01")
        screenshot(page, "03-dashboard")

        page.goto(f"{live_server.url}/admin/catalog/product/{tee.pk}/change/")
        expect(page.locator("#stock-grid")).to_be_visible()
        expect(page.locator(f'#stock-grid tr[data-sku="{small.sku}"]')).to_contain_text("12")
        page.locator("#stock-grid").scroll_into_view_if_needed()
        screenshot(page, "04-product-grid")

    transfer = Transfer.objects.get()
    assert (transfer.status, transfer.note, transfer.created_by) == (
        TransferStatus.DRAFT,
        "Saturday",
        manager.username,
    )
    assert sorted(transfer.lines.values_list("variant_id", "quantity")) == [
        (small.pk, 2),
        (large.pk, 2),
    ]
    assert sorted(StockLevel.objects.values_list("variant_id", "location_id", "on_hand")) == before
