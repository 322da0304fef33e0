"""CSV import in a real browser: a manager uploads a file with a mistake and sees every row's
error with nothing changed, uploads the corrected file, reads the preview, applies it and finds
the products with their stock and its movements. Screenshots go to test-artifacts/import-*.png.

The data is set up before Playwright starts and checked after it stops (see
test_admin_browser.py for why)."""

from pathlib import Path

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import expect

from catalog.models import Product, StockMovement, Variant
from catalog.tests.support import BROWSER_TEST_MARKS, admin_log_in, chromium_page, screenshot_taker

pytestmark = BROWSER_TEST_MARKS

SAMPLE = Path(__file__).resolve().parents[1] / "samples" / "catalog_import.csv"


@pytest.fixture
def screenshot():
    return screenshot_taker("import")


def test_a_manager_previews_and_applies_a_csv_import(
    live_server, manager: User, screenshot, tmp_path
):
    sample = SAMPLE.read_text()
    rows = len(sample.splitlines()) - 1
    broken = tmp_path / "delivery-broken.csv"
    # The second data row's size is not one of ours, the third's quantity is negative.
    lines = sample.splitlines()
    lines[2] = lines[2].replace(",L-XL,", ",XXL,")
    lines[3] = lines[3].replace(",,,5", ",,-5,")
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
        expect(page.get_by_role("button", name="Apply import")).to_have_count(0)
        screenshot(page, "02-errors")

        page.get_by_role("link", name="upload it again").click()
        page.set_input_files("input[type=file]", str(good))
        page.get_by_role("button", name="Preview import").click()
        expect(page.locator("#import-summary")).to_contain_text(f"{rows} rows")
        screenshot(page, "03-preview")
        page.get_by_role("button", name="Apply import").click()
        expect(page.locator(".messagelist .success")).to_be_visible()
        screenshot(page, "04-applied")

    skus = [line.split(",")[0] for line in sample.splitlines()[1:]]
    assert Variant.objects.filter(sku__in=skus).count() == rows
    assert Product.objects.filter(name="Linen Tee").get().variants.count() == 2
    movements = StockMovement.objects.filter(variant__sku__in=skus)
    assert {(m.actor_kind, m.actor) for m in movements} == {("user", "manager")}
    assert Variant.objects.get(sku="LIN-SS25-TEE-SM").quantity == 12
