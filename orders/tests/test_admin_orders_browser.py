"""Orders in a real browser: cancelling asks first, from the list and from an order's page, and a
return of a fulfilled order is recorded on its own page, on a laptop and on a phone.
Screenshots go to test-artifacts/orders-*.png.

The data is set up before Playwright starts and checked after it stops (see
catalog/tests/test_admin_browser.py for why)."""

from collections.abc import Callable
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Page, expect

from catalog.models import Product, Variant
from catalog.tests.support import BROWSER_TEST_MARKS, admin_log_in, chromium_page, screenshot_taker
from conftest import PlaceOrder
from core.actors import system_actor
from orders.models import Order, OrderReturn, OrderStatus
from orders.services import order_transition
from stock.models import StockMovement

pytestmark = BROWSER_TEST_MARKS

ACTOR = system_actor("test")


@pytest.fixture
def screenshot() -> Callable[[Page, str], None]:
    return screenshot_taker("orders")


@pytest.fixture
def tee(make_product: Callable[..., Product]) -> Product:
    return make_product(name="Organic Cotton Tee", price="29.90", stock={"S-M": 10, "L-XL": 5})


def _quantity(variant: Variant) -> int:
    variant.refresh_from_db()
    return variant.quantity


def test_cancelling_from_the_list_asks_first(
    live_server, manager: User, tee: Product, place_order: PlaceOrder, screenshot
):
    small, large = tee.variants.get(size="S-M"), tee.variants.get(size="L-XL")
    order = place_order((small, 2), (large, 1), customer_reference="web-4410")
    kept = place_order((small, 1), customer_reference="web-4411")

    with chromium_page() as page:
        admin_log_in(page, live_server.url, manager.username)
        page.goto(f"{live_server.url}/admin/orders/order/")
        page.locator(f"input[name=_selected_action][value='{order.pk}']").check()
        page.select_option("select[name=action]", "cancel")
        page.get_by_role("button", name="Go").click()

        expect(page.get_by_role("heading", name=f"Cancel order {order.number}")).to_be_visible()
        expect(page.locator("#content-main")).to_contain_text("3 units go back into stock")
        expect(page.locator(f"tr[data-sku='{small.sku}']")).to_contain_text("2")
        expect(page.locator(f"tr[data-sku='{large.sku}']")).to_contain_text("1")
        screenshot(page, "01-cancel-question")
        page.get_by_role("link", name="No, take me back").click()
        expect(page.locator("#result_list")).to_be_visible()

        page.locator(f"input[name=_selected_action][value='{order.pk}']").check()
        page.select_option("select[name=action]", "cancel")
        page.get_by_role("button", name="Go").click()
        page.get_by_role("button", name="Yes, cancel and restock").click()
        expect(page.locator(".messagelist .success")).to_contain_text(f"Cancel: {order.number}.")
        screenshot(page, "02-cancelled")

    order.refresh_from_db()
    kept.refresh_from_db()
    assert (order.status, kept.status) == (OrderStatus.CANCELLED, OrderStatus.PLACED)
    assert (_quantity(small), _quantity(large)) == (10 - 1, 5)
    assert StockMovement.objects.filter(reason="order_cancelled", user=manager).count() == 2


@pytest.mark.parametrize("width", [1366, 390])
def test_an_order_is_cancelled_from_its_page(
    live_server, store_staff: User, tee: Product, place_order: PlaceOrder, screenshot, width: int
):
    small = tee.variants.get(size="S-M")
    order = place_order((small, 4))

    with chromium_page() as page:
        page.set_viewport_size({"width": width, "height": 900})
        admin_log_in(page, live_server.url, store_staff.username)
        page.goto(f"{live_server.url}/admin/orders/order/{order.pk}/change/")
        page.get_by_role("link", name="Cancel order").click()
        expect(page.locator("#content-main")).to_contain_text("4 units go back into stock")
        screenshot(page, f"03-{width}-cancel-from-page")
        page.get_by_role("button", name="Yes, cancel and restock").click()
        expect(page.locator(".messagelist .success")).to_contain_text(f"Cancel: {order.number}.")
        expect(page.get_by_role("link", name="Cancel order")).to_have_count(0)
        screenshot(page, f"04-{width}-cancelled")

    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED
    assert _quantity(small) == 10


@pytest.mark.parametrize("width", [1366, 390])
def test_a_return_is_recorded_on_the_orders_page(
    live_server, manager: User, tee: Product, place_order: PlaceOrder, screenshot, width: int
):
    small, large = tee.variants.get(size="S-M"), tee.variants.get(size="L-XL")
    order: Order = place_order((small, 2), (large, 3))
    for action in ("pay", "fulfil"):
        order_transition(order_id=order.pk, action=action, actor=ACTOR)
    line = order.lines.get(variant=large)

    with chromium_page() as page:
        page.set_viewport_size({"width": width, "height": 900})
        admin_log_in(page, live_server.url, manager.username)
        page.goto(f"{live_server.url}/admin/orders/order/{order.pk}/change/")
        page.get_by_role("link", name="Record a return").click()
        field = page.locator(f"#id_line_{line.pk}")
        # More than was sold: the browser refuses to send it (the server refuses it too:
        # admin/test_record_return.py), and nothing is recorded.
        field.fill("4")
        page.get_by_role("button", name="Record the return").click()
        assert field.evaluate("input => input.validity.rangeOverflow")
        expect(
            page.get_by_role("heading", name=f"Record a return of order {order.number}")
        ).to_be_visible()
        screenshot(page, f"05-{width}-return-refused")
        page.locator(f"#id_line_{line.pk}").fill("2")
        page.fill("#id_note", "Too big")
        screenshot(page, f"06-{width}-return-form")
        page.get_by_role("button", name="Record the return").click()
        expect(page.locator(".messagelist .success")).to_contain_text(
            f"Return recorded for {order.number}: 2 unit(s) back in stock, refund 59.80 EUR."
        )
        expect(page.locator("#returns-group")).to_contain_text("Too big")
        screenshot(page, f"07-{width}-returned")

    order_return = OrderReturn.objects.get()
    assert (order_return.refund_total, order_return.note, order_return.recorded_by) == (
        Decimal("59.80"),
        "Too big",
        manager.username,
    )
    line.refresh_from_db()
    assert line.returned_quantity == 2
    assert _quantity(large) == 5 - 3 + 2
    assert _quantity(small) == 10 - 2
