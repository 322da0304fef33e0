"""Stock in the admin, in a real browser: a Manager records a delivery on a variant's page, finds
the new quantity on the variant again, and the movement in the ledger. Screenshots of each step go
to test-artifacts/admin-stock-*.png.

As in test_admin_browser.py, the data is set up before Playwright starts and checked after it
stops: the sync Playwright API runs an event loop in this thread, where Django refuses ORM calls."""

from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Page, expect, sync_playwright

from catalog.tests.support import BROWSER_TEST_MARKS, CHROMIUM, CHROMIUM_ARGS, screenshot_taker
from stock.models import StockMovement

pytestmark = BROWSER_TEST_MARKS

NOTE = "Delivery note 4411"


@pytest.fixture
def screenshot() -> Callable[[Page, str], None]:
    return screenshot_taker("admin-stock")


def test_manager_records_a_delivery_and_finds_it_in_the_ledger(
    live_server, manager: User, make_product, screenshot
):
    tee = make_product(name="Organic Cotton Tee", stock={"S-M": 5, "L-XL": 0})
    make_product(name="Merino Crew Sweater", category="Sweaters", stock={"S-M": 3})
    variant = tee.variants.get(size="S-M")
    sku, movements_before = variant.sku, StockMovement.objects.count()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.set_default_timeout(10_000)
        try:
            page.goto(f"{live_server.url}/admin/")
            page.fill("#id_username", manager.username)
            page.fill("#id_password", "pw")
            page.click("input[type=submit]")
            expect(page.locator("#site-name")).to_be_visible()

            page.locator("#content-main").get_by_role("link", name="Variants", exact=True).click()
            page.get_by_role("link", name=sku, exact=True).click()
            expect(page.locator("#id_quantity")).to_have_value("5")
            expect(page.locator("#id_quantity")).to_be_disabled()
            expect(page.locator("fieldset").filter(has_text="Change the stock")).to_be_visible()
            page.fill("#id_stock_change", "12")
            page.select_option("#id_stock_reason", label="Received (delivery)")
            page.fill("#id_stock_note", NOTE)
            screenshot(page, "01-change-form")
            page.click("input[name=_save]")

            expect(page.locator(".messagelist .success")).to_contain_text(
                "was changed successfully"
            )
            row = page.locator("#result_list tbody tr").filter(
                has=page.get_by_role("link", name=sku, exact=True)
            )
            expect(row.locator(".stock-badge")).to_have_text("S-M 17")
            screenshot(page, "02-saved")

            page.get_by_role("link", name=sku, exact=True).click()
            expect(page.locator("#id_quantity")).to_have_value("17")
            latest_movements = page.locator(".field-recent_movements .readonly").inner_text()
            screenshot(page, "03-variant-again")

            page.goto(f"{live_server.url}/admin/")
            page.locator("#content-main").get_by_role("link", name="Stock movements").click()
            newest = page.locator("#result_list tbody tr").first
            for text in (sku, "Received (delivery)", "+12", "17", manager.username, NOTE):
                expect(newest).to_contain_text(text)
            screenshot(page, "04-movements")

            page.locator("#changelist-filter").get_by_role(
                "link", name="Received (delivery)"
            ).click()
            expect(page.locator("#result_list tbody tr")).to_have_count(1)
            expect(page.locator("#result_list tbody tr")).to_contain_text(NOTE)
            screenshot(page, "05-movements-received")
        except Exception:
            screenshot(page, "failure")
            raise
        finally:
            browser.close()

    variant.refresh_from_db()
    assert variant.quantity == 17
    assert StockMovement.objects.count() == movements_before + 1
    movement = StockMovement.objects.latest("id")
    assert (
        movement.variant_id,
        movement.reason,
        movement.delta,
        movement.quantity_after,
        movement.actor_kind,
        movement.actor,
        movement.user_id,
        movement.note,
    ) == (variant.pk, "received", 12, 17, "user", "manager", manager.pk, NOTE)
    for text in ("Received (delivery)", "+12", "17", manager.username, NOTE):
        assert text in latest_movements, text
