"""Cancelling asks first, from the list and from an order's page: a page lists the orders and
what goes back on the shelf, and only its "Yes" cancels."""

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib import messages
from django.contrib.auth.models import Permission, User
from django.test import Client

from catalog.models import Variant
from catalog.tests.support import admin_url
from conftest import PlaceOrder
from orders.models import Order, OrderStatus
from orders.tests.admin.support import (
    ORDERS,
    _cancel_url,
    _ledger,
    _messages,
    _move,
    _order_state,
    _quantities,
)
from stock.models import StockMovement

pytestmark = pytest.mark.django_db


CONFIRMATION = "admin/orders/order/cancel_confirmation.html"


def _text(response: Any) -> str:
    """The page's text as a reader sees it: no tags, one space between words."""
    return " ".join(re.sub(r"<[^>]+>", " ", response.content.decode()).split())


def test_the_cancel_action_asks_first_listing_the_orders_and_what_goes_back(
    manager_web: Client,
    place_order: PlaceOrder,
    order: Order,
    small: Variant,
    one_size: Variant,
) -> None:
    paid = _move(place_order((small, 3)), "pay")
    fulfilled = _move(place_order((one_size, 1)), "pay", "fulfil")
    before = {o.number: _order_state(o) for o in (order, paid, fulfilled)}
    ledger, quantities = _ledger(), _quantities()

    response = manager_web.post(
        ORDERS,
        {"action": "cancel", "_selected_action": [order.pk, paid.pk, fulfilled.pk]},
    )

    assert response.status_code == 200
    assert CONFIRMATION in [template.name for template in response.templates]
    html = response.content.decode()
    assert "Cancel these 2 orders? 6 units go back into stock" in _text(response)
    restock = {
        o.number: [(line.sku, units) for line, units in lines]
        for o, lines in response.context["cancellable"]
    }
    assert restock == {
        order.number: [(small.sku, 2), (one_size.sku, 1)],
        paid.number: [(small.sku, 3)],
    }
    for number, lines in restock.items():
        section = html.split(f'data-order="{number}"', 1)[1].split("</section>", 1)[0]
        for sku, units in lines:
            assert re.search(rf"<td>{sku}</td>.*?<td class=\"num\">{units}</td>", section)
    assert (
        f"Left unchanged: their status does not allow a cancel: {fulfilled.number} (fulfilled)."
        in _text(response)
    )
    # The "Yes" posts the action again, for the same orders, confirmed.
    for pk in (order.pk, paid.pk, fulfilled.pk):
        assert f'<input type="hidden" name="_selected_action" value="{pk}">' in html
    assert '<input type="hidden" name="action" value="cancel">' in html
    assert '<input type="hidden" name="post" value="yes">' in html
    # Nothing happened yet.
    assert {o.number: _order_state(o) for o in (order, paid, fulfilled)} == before
    assert (_ledger(), _quantities()) == (ledger, quantities)


def test_the_cancel_page_offers_no_yes_when_nothing_can_be_cancelled(
    manager_web: Client, order: Order
) -> None:
    _move(order, "pay", "fulfil")

    response = manager_web.post(ORDERS, {"action": "cancel", "_selected_action": [order.pk]})

    html = response.content.decode()
    assert (
        f"Nothing to cancel: their status does not allow a cancel: {order.number} (fulfilled)."
        in _text(response)
    )
    assert 'value="Yes, cancel and restock"' not in html


@pytest.mark.parametrize("paid_first", [False, True])
def test_an_order_is_cancelled_from_its_page_after_the_same_question(
    manager_web: Client,
    manager: User,
    order: Order,
    small: Variant,
    one_size: Variant,
    paid_first: bool,
) -> None:
    if paid_first:
        _move(order, "pay")
    page = manager_web.get(admin_url("change", order)).content.decode()
    assert f'href="{_cancel_url(order)}"' in page
    ledger = _ledger()

    question = manager_web.get(_cancel_url(order))

    assert question.status_code == 200
    assert f"Cancel order {order.number}" in _text(question)
    assert "Cancel this order? 3 units go back into stock" in _text(question)
    assert _ledger() == ledger
    answered = manager_web.post(_cancel_url(order), {"post": "yes"}, follow=True)

    assert answered.redirect_chain == [(admin_url("change", order), 302)]
    assert _messages(answered) == [(messages.SUCCESS, f"Cancel: {order.number}.")]
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED
    assert _quantities()[small.sku] == 10
    assert _quantities()[one_size.sku] == 3
    assert set(
        StockMovement.objects.filter(reason="order_cancelled").values_list("user", "reference")
    ) == {(manager.pk, order.number)}
    assert f'href="{_cancel_url(order)}"' not in answered.content.decode()


def test_posting_the_cancel_page_without_its_yes_changes_nothing(
    manager_web: Client, order: Order
) -> None:
    before, ledger = _order_state(order), _ledger()

    response = manager_web.post(_cancel_url(order), {})

    assert response.status_code == 200
    assert _order_state(order) == before
    assert _ledger() == ledger


def test_cancelling_from_the_page_an_order_fulfilled_meanwhile_changes_nothing(
    manager_web: Client, order: Order
) -> None:
    question = manager_web.get(_cancel_url(order))
    assert 'value="Yes, cancel and restock"' in question.content.decode()
    _move(order, "pay", "fulfil")  # elsewhere, before "Yes"
    before, ledger = _order_state(order), _ledger()

    answered = manager_web.post(_cancel_url(order), {"post": "yes"}, follow=True)

    assert _messages(answered) == [
        (
            messages.WARNING,
            f"Left unchanged, their status does not allow it: {order.number} (fulfilled).",
        )
    ]
    assert _order_state(order) == before
    assert _ledger() == ledger


def test_who_may_cancel_from_the_order_page(login: Callable[[User], Client], order: Order) -> None:
    viewer = User.objects.create_user("viewer", password="pw", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_order"))
    client = login(viewer)
    before = _order_state(order)

    page = client.get(admin_url("change", order))
    question = client.get(_cancel_url(order))
    answered = client.post(_cancel_url(order), {"post": "yes"})

    assert page.status_code == 200
    assert f'href="{_cancel_url(order)}"' not in page.content.decode()
    assert (question.status_code, answered.status_code) == (403, 403)
    assert _order_state(order) == before
