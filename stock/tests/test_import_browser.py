"""CSV import in a real browser: a manager uploads a file with a mistake and sees every row's
error with nothing changed, uploads the corrected file, reads the preview, applies it and finds
the products with their stock and its movements; then uploads the same file again, is told when
and by whom it was applied, and applies it again only after ticking the confirmation.
Screenshots go to test-artifacts/import-*.png.

The data is set up before Playwright starts and checked after it stops (see
test_admin_browser.py for why)."""

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import expect

from catalog.models import ImportBatch, Product, Variant
from catalog.tests.support import BROWSER_TEST_MARKS, admin_log_in, chromium_page, screenshot_taker
from stock.models import StockMovement
from stock.tests.import_support import SAMPLE, walkthrough_catalog

pytestmark = BROWSER_TEST_MARKS


@pytest.fixture
def screenshot():
    return screenshot_taker("import")


def test_a_manager_previews_and_applies_a_csv_import(
    live_server, manager: User, screenshot, tmp_path
):
    walkthrough_catalog()
    before = dict(Variant.objects.values_list("sku", "quantity"))
    sample = SAMPLE.read_text()
    rows = len(sample.splitlines()) - 1
    broken = tmp_path / "delivery-broken.csv"
    # A delivery's quantity is negative, a new product's size is not one of ours.
    lines = sample.splitlines()
    lines[1] = lines[1].replace(",12,", ",-12,")
    lines[7] = lines[7].replace(",L-XL,", ",XXL,")
    broken.write_text("\n".join(lines) + "\n")
    good = tmp_path / "delivery.csv"
    good.write_text(sample)

    with chromium_page() as page:
        admin_log_in(page, live_server.url, manager.username)
        page.get_by_role("link", name="Products", exact=True).click()
        page.get_by_role("link", name="Import CSV").click()
        screenshot(page, "01-upload")

        page.set_input_files("input[type=file]", str(broken))
        page.get_by_role("button", name="Preview import").click()
        expect(page.locator(".errornote")).to_contain_text("2 errors")
        errors = page.locator("#import-errors tbody tr")
        expect(errors).to_have_count(2)
        expect(errors.nth(0)).to_contain_text("received")
        expect(errors.nth(1)).to_contain_text("size")
        expect(page.get_by_role("button", name="Apply import")).to_have_count(0)
        screenshot(page, "02-errors")

        page.get_by_role("link", name="upload it again").click()
        page.set_input_files("input[type=file]", str(good))
        page.get_by_role("button", name="Preview import").click()
        expect(page.locator("#import-summary")).to_contain_text(f"{rows} rows")
        expect(page.locator("#import-summary")).to_contain_text("3 products created")
        screenshot(page, "03-preview")
        page.get_by_role("button", name="Apply import").click()
        expect(page.locator(".messagelist .success")).to_be_visible()
        screenshot(page, "04-applied")

        # The same file again: the page says so, and Apply needs the box ticked.
        page.get_by_role("link", name="Import CSV").click()
        page.set_input_files("input[type=file]", str(good))
        page.get_by_role("button", name="Preview import").click()
        warning = page.locator("#import-applied-before")
        expect(warning).to_contain_text("This file was applied already")
        expect(warning).to_contain_text("by manager as import #")
        screenshot(page, "05-applied-before")
        page.get_by_role("button", name="Apply import again").click()
        expect(page.locator(".messagelist .success")).to_have_count(0)  # the browser held it
        page.get_by_label("I have checked: apply this file again.").check()
        page.get_by_role("button", name="Apply import again").click()
        expect(page.locator(".messagelist .success")).to_be_visible()
        screenshot(page, "06-applied-again")

    after = dict(Variant.objects.values_list("sku", "quantity"))
    assert after["DEMO-003-SM"] - before["DEMO-003-SM"] == 2 * 12
    skus = [line.split(",")[0] for line in sample.splitlines()[1:]]
    new_skus = [sku for sku in skus if sku not in before]
    assert Variant.objects.filter(sku__in=new_skus).count() == 5
    assert Product.objects.get(name="Ribbed Wool Sweater").variants.count() == 2
    movements = StockMovement.objects.filter(reference__startswith="import-")
    assert {(m.actor_kind, m.actor) for m in movements} == {("user", "manager")}
    assert list(
        ImportBatch.objects.filter(status="applied").values_list("reimport", flat=True)
    ) == [
        True,
        False,
    ]
