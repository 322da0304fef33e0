"""A transfer in the admin, in a real browser: store staff draft one with two lines, ship it,
receive it by scanning (one line short), close it short and see the shortfall; then print its
packing list. Screenshots of each step go to test-artifacts/admin-transfers-*.png.

As in the other browser tests, the data is set up before Playwright starts and checked after it
stops: the sync Playwright API runs an event loop in this thread, where Django refuses ORM calls."""

from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Page, expect

from catalog.tests.support import BROWSER_TEST_MARKS, admin_log_in, chromium_page, screenshot_taker
from stock.models import Location, StockLevel, StockMovement, Transfer, TransferStatus

pytestmark = BROWSER_TEST_MARKS


@pytest.fixture
def screenshot() -> Callable[[Page, str], None]:
    return screenshot_taker("admin-transfers")


def _levels(variant, location: Location) -> tuple[int, int]:
    level = StockLevel.objects.get(variant=variant, location=location)
    return level.on_hand, level.incoming


def test_staff_ship_a_transfer_receive_it_short_by_scanning_and_close_it(
    live_server, store_staff: User, make_product, main: Location, store: Location, screenshot
):
    tee = make_product(name="Organic Cotton Tee", stock={"S-M": 6, "L-XL": 4})
    small, large = tee.variants.get(size="S-M"), tee.variants.get(size="L-XL")

    with chromium_page() as page:
        admin_log_in(page, live_server.url, store_staff.username)
        page.locator("#content-main").get_by_role("link", name="Transfers", exact=True).click()
        page.get_by_role("link", name="Add transfer").click()
        # The scanner's Enter is the page script's, bound once the page has loaded: a click
        # waits for the navigation to begin, not for that.
        page.wait_for_load_state()
        page.select_option("#id_transfer-from_location", "MAIN")
        page.select_option("#id_transfer-to_location", "STORE-01")
        page.fill("#id_transfer-reference", "REQ-42")
        page.fill("#id_lines-0-sku", small.sku.lower())
        page.press("#id_lines-0-sku", "Enter")  # as a scanner ends a code: on to the quantity
        expect(page.locator("#id_lines-0-quantity")).to_be_focused()
        page.keyboard.type("2")
        page.fill("#id_lines-1-sku", large.sku)
        page.fill("#id_lines-1-quantity", "3")
        screenshot(page, "01-add")
        page.click("input[name=_save]")

        expect(page.locator(".messagelist .success")).to_contain_text("2 line(s), 5 unit(s)")
        expect(page.locator(".transfer-status")).to_have_text("Draft")
        screenshot(page, "02-draft")
        page.get_by_role("button", name="Ship").click()

        expect(page.locator(".messagelist .success")).to_contain_text("in transit to STORE-01")
        expect(page.locator(".transfer-status")).to_have_text("In transit")
        screenshot(page, "03-in-transit")
        page.get_by_role("link", name="Receive", exact=True).click()

        small_row = page.locator(f"tr[data-sku='{small.sku}']")
        large_row = page.locator(f"tr[data-sku='{large.sku}']")
        expect(small_row.locator("input")).to_have_value("2")  # all that is in transit
        expect(large_row.locator("input")).to_have_value("3")
        page.get_by_role("button", name="Set every line to 0").click()
        expect(large_row.locator("input")).to_have_value("0")
        scan = page.locator("#id_scan")
        for code in (small.sku, small.sku.lower(), large.sku):
            scan.fill(code)
            scan.press("Enter")
        expect(small_row.locator("input")).to_have_value("2")
        expect(large_row.locator("input")).to_have_value("1")
        expect(page.locator("#scan-status")).to_have_text(f"{large.sku}: 1 of 3.")
        scan.fill("NOT-HERE")
        scan.press("Enter")
        expect(page.locator("#scan-status")).to_have_text("NOT-HERE is not in this transfer.")
        screenshot(page, "04-receive-scanned")
        page.locator("input[name=_receive]").click()

        expect(page.locator(".messagelist .success")).to_contain_text("Received 3 unit(s)")
        expect(large_row.locator("td.in-transit")).to_have_text("2")
        page.get_by_role("link", name="Close short").click()

        expect(page.locator("table.write-off tbody tr")).to_have_count(1)
        expect(page.locator(f"table.write-off tr[data-sku='{large.sku}']")).to_contain_text("2")
        screenshot(page, "05-close-confirmation")
        page.get_by_role("button", name="Yes, close it short").click()

        expect(page.locator(".messagelist .success")).to_contain_text(
            "2 unit(s) written off as lost in transit"
        )
        expect(page.locator(".transfer-status")).to_have_text("Received")
        expect(page.locator(".transfer-shortfall")).to_contain_text(
            "Closed short: 2 units never arrived"
        )
        expect(large_row.locator("td.lost")).to_have_text("2")
        expect(page.locator(".transfer-actions")).to_have_count(0)
        screenshot(page, "06-closed-short")

        page.get_by_role("link", name="Transfers", exact=True).first.click()
        expect(page.locator("#result_list tbody tr")).to_have_count(1)
        expect(page.locator("#result_list tbody tr")).to_contain_text("2 / 5")
        screenshot(page, "07-list")
        page.locator("#result_list tbody tr a").first.click()

        page.get_by_role("link", name="Packing list").click()
        expect(page.locator("h1")).to_contain_text("Packing list")
        expect(page.locator("tbody tr")).to_have_count(2)
        screenshot(page, "08-packing-list")

    transfer = Transfer.objects.get()
    assert (transfer.status, transfer.reference) == (TransferStatus.RECEIVED, "REQ-42")
    assert list(transfer.lines.values_list("quantity", "quantity_received", "quantity_lost")) == [
        (2, 2, 0),
        (3, 1, 2),
    ]
    assert (_levels(small, main), _levels(large, main)) == ((4, 0), (1, 0))
    assert (_levels(small, store), _levels(large, store)) == ((2, 0), (1, 0))
    assert StockMovement.objects.filter(reference=transfer.number, reason="lost").count() == 1
