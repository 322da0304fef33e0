"""A count in a real browser: store staff start a count at the shop, scan barcodes into the
scan field (each Enter adds one), type a line's count, read the preview with every correction
and its value, and apply it. Screenshots go to test-artifacts/counts-*.png.

The data is set up before Playwright starts and checked after it stops (see
test_admin_browser.py for why)."""

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import expect

from catalog.models import Variant
from catalog.tests.support import BROWSER_TEST_MARKS, admin_log_in, chromium_page, screenshot_taker
from stock.models import CountSession, CountStatus, StockLevel, StockMovement
from stock.services import stock_adjust
from stock.tests.test_counts import BARCODE_L, BARCODE_S, CLERK

pytestmark = BROWSER_TEST_MARKS


@pytest.fixture
def screenshot():
    return screenshot_taker("counts")


def test_store_staff_count_the_shop_by_scanning_preview_and_apply(
    live_server, store_staff: User, make_product, store, screenshot
):
    product = make_product(name="Tee", stock={"S-M": 0, "L-XL": 0})
    Variant.objects.filter(product=product, size="S-M").update(barcode=BARCODE_S)
    Variant.objects.filter(product=product, size="L-XL").update(barcode=BARCODE_L)
    small, large = product.variants.get(size="S-M"), product.variants.get(size="L-XL")
    for variant, units in ((small, 4), (large, 3)):
        stock_adjust(
            variant_id=variant.pk, delta=units, reason="received", actor=CLERK, location=store
        )

    with chromium_page() as page:
        admin_log_in(page, live_server.url, store_staff.username)
        page.goto(f"{live_server.url}/admin/stock/countsession/")
        page.get_by_role("link", name="Add count session").click()
        page.get_by_label("Count at").select_option("STORE-01")
        screenshot(page, "01-start")
        page.get_by_role("button", name="Start the count").click()
        expect(page.locator(".messagelist .success")).to_contain_text("started at STORE-01")
        page.wait_for_load_state()  # the scanning is the page script's, bound once it loaded

        # Three scans of the small size, each with Enter into the focused field.
        scan = page.get_by_label("Scan or type a barcode or SKU")
        for counted in (1, 2, 3):
            expect(scan).to_be_focused()
            scan.fill(BARCODE_S)
            scan.press("Enter")
            expect(page.locator(".messagelist .success")).to_have_text(
                f"{small.sku}: {counted} counted."
            )
        # The large size counted by hand: all 3 there.
        page.get_by_label(f"Counted of {large.sku}").fill("3")
        page.get_by_label(f"Counted of {large.sku}").press("Enter")
        expect(page.locator(".messagelist .success")).to_have_text(f"{large.sku}: 3 counted.")
        screenshot(page, "02-counting")

        page.get_by_role("link", name="Preview the corrections").click()
        corrections = page.locator("#count-corrections tbody tr")
        expect(corrections).to_have_count(2)
        expect(page.locator(f'#count-corrections tr[data-sku="{small.sku}"]')).to_contain_text("-1")
        expect(page.locator("#count-total-value")).to_have_text("-29.90")
        screenshot(page, "03-preview")

        page.get_by_role("button", name="Apply the count").click()
        expect(page.locator(".messagelist .success")).to_contain_text(
            "applied: 2 correction(s), -1 units, -29.90 in value."
        )
        expect(page.get_by_label("Scan or type a barcode or SKU")).to_have_count(0)
        screenshot(page, "04-applied")

    session = CountSession.objects.get()
    assert session.status == CountStatus.APPLIED
    assert dict(StockLevel.objects.filter(location=store).values_list("variant_id", "on_hand")) == {
        small.pk: 3,
        large.pk: 3,
    }
    assert sorted(
        StockMovement.objects.filter(reference=session.reference).values_list(
            "variant_id", "delta", "actor"
        )
    ) == [(small.pk, -1, "clerk"), (large.pk, 0, "clerk")]
