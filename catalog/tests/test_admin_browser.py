"""The admin in a real browser: a Manager adds a product with two variants through the inline
rows, then finds it again by filter and by SKU. Screenshots of each step go to test-artifacts/.

The sync Playwright API runs an event loop in this thread, and Django refuses ORM calls from a
thread with a running loop; so the data is set up before Playwright starts and checked after it
stops, and the browser's own requests run in the live server's thread."""

from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Locator, Page, expect, sync_playwright

from catalog.models import IssuedSku, Product
from catalog.tests.support import BROWSER_TEST_MARKS, CHROMIUM, CHROMIUM_ARGS, screenshot_taker

pytestmark = BROWSER_TEST_MARKS


@pytest.fixture
def screenshot() -> Callable[[Page, str], None]:
    return screenshot_taker("admin")


def _stock_badges(page: Page, product_name: str) -> Locator:
    row = page.locator("#result_list tbody tr").filter(
        has=page.get_by_role("link", name=product_name, exact=True)
    )
    return row.locator(".stock-badge")


def test_manager_adds_a_product_with_variants_and_finds_it(
    live_server, manager: User, make_product, screenshot
):
    make_product(name="Wide Leg Pants", category="Pants", color="Olive", stock={"One Size": 0})
    make_product(name="Merino Crew Sweater", category="Sweaters", stock={"S-M": 1, "L-XL": 6})

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.set_default_timeout(10_000)
        try:
            page.goto(f"{live_server.url}/admin/")
            page.fill("#id_username", manager.username)
            page.fill("#id_password", "pw")
            screenshot(page, "01-login")
            page.click("input[type=submit]")
            expect(page.locator("#site-name")).to_be_visible()

            page.get_by_role("link", name="Products", exact=True).click()
            page.get_by_role("link", name="Add product").click()

            page.select_option("#id_category", "Tees")
            page.fill("#id_name", "Linen Tee")
            page.fill("#id_color", "White")
            page.fill("#id_price", "35.00")
            page.fill("#id_collection", "fw24")
            add_row = page.get_by_role("button", name="Add another Variant")
            add_row.click()
            add_row.click()
            page.select_option("#id_variants-0-size", "S-M")
            page.fill("#id_variants-0-quantity", "5")
            page.select_option("#id_variants-1-size", "L-XL")
            page.fill("#id_variants-1-sku", "linen-lxl")
            page.fill("#id_variants-1-quantity", "0")
            screenshot(page, "02-add-form")
            page.click("input[name=_save]")

            expect(page.locator(".messagelist .success")).to_contain_text(
                "Linen Tee (White, FW24)” was added successfully"
            )
            badges = _stock_badges(page, "Linen Tee")
            expect(badges).to_have_text(["S-M 5", "L-XL 0"])
            expect(badges.nth(0)).to_have_class("stock-badge stock-ok")
            expect(badges.nth(1)).to_have_class("stock-badge stock-out")
            # The admin's stylesheet is served and applied: the sold-out badge is red on pink.
            expect(badges.nth(1)).to_have_css("background-color", "rgb(253, 226, 225)")
            expect(badges.nth(1)).to_have_css("color", "rgb(166, 27, 20)")
            low = _stock_badges(page, "Merino Crew Sweater").nth(0)
            expect(low).to_have_class("stock-badge stock-low")
            expect(low).to_have_css("background-color", "rgb(255, 244, 214)")
            screenshot(page, "03-saved")

            page.locator("#changelist-filter").get_by_role("link", name="Sold out").click()
            expect(page.locator("#result_list tbody tr")).to_have_count(1)
            expect(page.locator("#result_list")).to_contain_text("Wide Leg Pants")
            expect(_stock_badges(page, "Wide Leg Pants")).to_have_class("stock-badge stock-out")
            screenshot(page, "04-sold-out")

            page.goto(f"{live_server.url}/admin/catalog/product/")
            page.fill("#searchbar", "linen-lxl")
            page.press("#searchbar", "Enter")
            expect(page.locator("#result_list tbody tr")).to_have_count(1)
            expect(page.locator("#result_list")).to_contain_text("Linen Tee")
            screenshot(page, "05-search-sku")
        except Exception:
            screenshot(page, "failure")
            raise
        finally:
            browser.close()

    product = Product.objects.get(name="Linen Tee")
    assert product.collection == "FW24"
    assert dict(product.variants.values_list("size", "sku")) == {
        "S-M": f"TEE-FW24-{product.pk:05d}-SM",
        "L-XL": "LINEN-LXL",
    }
    assert IssuedSku.objects.filter(sku=f"TEE-FW24-{product.pk:05d}-SM").exists()
