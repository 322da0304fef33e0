"""Replenishment in a real browser, walked as staff do it: a manager opens the Replenishment
page from the admin's shortcuts, chooses the shop and the warehouse, reads the suggestion,
drafts the transfer with one click and lands on it, ships it, finds it among the dashboard's
open transfers and in the product's stock grid (incoming at the shop), receives it with one line
short by scanning, and closes it short. Screenshots go to test-artifacts/replenishment-*.png.

The data is set up before Playwright starts and checked after it stops (see
catalog/tests/test_admin_browser.py for why)."""

from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
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


def test_a_manager_replenishes_a_shop_from_suggestion_to_short_receipt(
    live_server, manager: User, make_product, screenshot
):
    store = location_create(code="STORE-01", name="Shop in town", kind="store")
    tee = make_product(name="Organic Tee", stock={"S-M": 12, "L-XL": 2})
    small, large = tee.variants.get(size="S-M"), tee.variants.get(size="L-XL")
    stock_adjust(variant_id=small.pk, delta=1, reason="received", actor=ACTOR, location=store)
    stock_level_settings_set(
        variant=large, location=store, low_stock_threshold=1, target=4, actor=ACTOR
    )

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
        # On the transfer's own page: ship it.
        expect(page.locator(".transfer-status")).to_have_text("Draft")
        screenshot(page, "02-drafted")
        transfer_page = page.url
        page.get_by_role("button", name="Ship").click()
        expect(page.locator(".transfer-status")).to_have_text("In transit")
        screenshot(page, "03-shipped")

        page.get_by_role("link", name="Dashboard", exact=True).click()
        expect(page.locator("#open-transfers tbody tr")).to_have_count(1)
        expect(page.locator("#stock-by-location")).to_contain_text("STORE-01")
        screenshot(page, "04-dashboard")

        page.goto(f"{live_server.url}/admin/catalog/product/{tee.pk}/change/")
        expect(page.locator("#stock-grid")).to_be_visible()
        expect(page.locator(f'#stock-grid tr[data-sku="{small.sku}"]')).to_contain_text("10")
        page.locator("#stock-grid").scroll_into_view_if_needed()
        screenshot(page, "05-product-grid")

        # The van arrives one L-XL short: scan what came, then close the rest as lost.
        page.goto(transfer_page)
        page.get_by_role("link", name="Receive", exact=True).click()
        page.wait_for_load_state()  # the scanning is the page script's, bound once it loaded
        page.get_by_role("button", name="Set every line to 0").click()
        scan = page.locator("#id_scan")
        for code in (small.sku, small.sku, large.sku):
            scan.fill(code)
            scan.press("Enter")
        expect(page.locator(f"tr[data-sku='{large.sku}'] input")).to_have_value("1")
        screenshot(page, "06-receive-scanned")
        page.locator("input[name=_receive]").click()
        expect(page.locator(".messagelist .success")).to_contain_text("Received 3 unit(s)")
        page.get_by_role("link", name="Close short").click()
        page.get_by_role("button", name="Yes, close it short").click()
        expect(page.locator(".transfer-status")).to_have_text("Received")
        expect(page.locator(".transfer-shortfall")).to_contain_text(
            "Closed short: 1 unit never arrived"
        )
        screenshot(page, "07-closed-short")

    transfer = Transfer.objects.get()
    assert (transfer.status, transfer.note, transfer.created_by) == (
        TransferStatus.RECEIVED,
        "Saturday",
        manager.username,
    )
    assert sorted(
        transfer.lines.values_list("variant_id", "quantity", "quantity_received", "quantity_lost")
    ) == [(small.pk, 2, 2, 0), (large.pk, 2, 1, 1)]
    at = {
        (level.variant_id, level.location_id): (level.on_hand, level.incoming)
        for level in StockLevel.objects.all()
    }
    main = transfer.from_location_id
    assert at[small.pk, main] == (10, 0)
    assert at[large.pk, main] == (0, 0)
    assert at[small.pk, store.pk] == (3, 0)
    assert at[large.pk, store.pk] == (1, 0)
    call_command("reconcile_stock", stdout=StringIO())
