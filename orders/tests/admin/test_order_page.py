"""An order's page: every staff role sees the order with its lines; nothing about it is editable
(money, status, lines), and nothing is added or deleted by hand."""

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from catalog.models import Variant
from catalog.tests.support import admin_url
from orders import services
from orders.admin import OrderAdmin
from orders.exceptions import InvalidTransition
from orders.models import Order, OrderStatus
from orders.tests.admin.support import ACTOR, ORDERS, _ledger, _order_state, _quantities

pytestmark = pytest.mark.django_db

ORDER_ADD = reverse("admin:orders_order_add")


# Seeing orders


def test_every_staff_role_sees_the_order_list_and_page(web: Client, order: Order) -> None:
    changelist = web.get(ORDERS)
    page = web.get(admin_url("change", order))

    assert changelist.status_code == 200
    assert list(changelist.context["cl"].result_list) == [order]
    listed = changelist.content.decode()
    assert order.number in listed
    assert "118.80" in listed
    assert "CUST-0042" in listed
    assert page.status_code == 200
    html = page.content.decode()
    assert order.number in html
    assert "118.80" in html
    assert "web-shop" in html  # who placed it


LINE_COLUMNS = ("sku", "product_name", "quantity", "unit_price", "line_total")


@pytest.mark.parametrize(
    "web",
    [
        "admin_user",
        "manager",
        "store_staff",
    ],
    indirect=True,
)
def test_the_order_page_shows_its_lines_with_unit_prices_and_totals(
    web: Client, order: Order, small: Variant, one_size: Variant
) -> None:
    response = web.get(admin_url("change", order))

    assert response.status_code == 200
    inlines = {
        inline.opts.model._meta.model_name: inline
        for inline in response.context["inline_admin_formsets"]
    }
    assert "orderline" in inlines
    lines = inlines["orderline"]
    rows = [
        tuple(str(getattr(form.instance, field)) for field in LINE_COLUMNS)
        for form in lines.formset.forms
    ]
    assert rows == [
        (small.sku, "Organic Cotton Tee", "2", "29.90", "59.80"),
        (one_size.sku, "Linen Shirt", "1", "59.00", "59.00"),
    ]
    html = response.content.decode()
    for shown in (small.sku, one_size.sku, "29.90", "59.80", "59.00", "Linen Shirt"):
        assert shown in html
    # Shown, not editable: no inputs for the lines, no adding or removing one.
    assert (lines.has_add_permission, lines.has_change_permission) == (False, False)
    assert lines.formset.can_delete is False
    assert 'name="lines-0-DELETE"' not in html
    assert 'name="lines-0-quantity"' not in html
    assert 'name="lines-0-unit_price"' not in html


def test_the_order_page_has_no_editable_field(web: Client, order: Order) -> None:
    response = web.get(admin_url("change", order))

    assert response.status_code == 200
    assert dict(response.context["adminform"].form.fields) == {}
    html = response.content.decode()
    for field in ("total", "status", "currency", "customer_reference", "paid_at"):
        assert f'name="{field}"' not in html


# Nothing about an order is changed, added or deleted by hand


# What the order page submits: only the inlines' management forms, every field being read-only.
UNCHANGED_FORM = {
    "lines-TOTAL_FORMS": "2",
    "lines-INITIAL_FORMS": "2",
    "lines-MIN_NUM_FORMS": "0",
    "lines-MAX_NUM_FORMS": "1000",
    "returns-TOTAL_FORMS": "0",
    "returns-INITIAL_FORMS": "0",
    "returns-MIN_NUM_FORMS": "0",
    "returns-MAX_NUM_FORMS": "1000",
    "_save": "Save",
}


def _tampered_form(order: Order) -> dict[str, str]:
    """The change form with money, status and lines typed in, as a crafted POST would send."""
    line = order.lines.order_by("id").first()
    assert line is not None
    return {
        **UNCHANGED_FORM,
        "number": "SO-FORGED",
        "status": OrderStatus.CANCELLED,
        "total": "0.01",
        "currency": "USD",
        "customer_reference": "someone else",
        "cancelled_at_0": "2024-01-01",
        "cancelled_at_1": "00:00:00",
        "lines-TOTAL_FORMS": "3",
        "lines-0-id": str(line.pk),
        "lines-0-order": str(order.pk),
        "lines-0-quantity": "99",
        "lines-0-unit_price": "0.01",
        "lines-0-DELETE": "on",
        "lines-2-variant": str(line.variant_id),
        "lines-2-quantity": "5",
        "lines-2-unit_price": "0.01",
    }


def test_posting_the_order_page_changes_no_money_status_or_line(web: Client, order: Order) -> None:
    before = _order_state(order)
    ledger, quantities = _ledger(), _quantities()

    response = web.post(admin_url("change", order), _tampered_form(order))

    assert response.status_code == 302
    assert _order_state(order) == before
    assert order.lines.count() == 2
    assert _ledger() == ledger
    assert _quantities() == quantities


def test_saving_the_order_page_never_undoes_a_cancel_made_meanwhile(
    manager_web: Client, order: Order, monkeypatch: pytest.MonkeyPatch
) -> None:
    read_order = OrderAdmin.get_object

    def read_then_cancelled_elsewhere(
        admin: OrderAdmin, request: Any, object_id: str, from_field: str | None = None
    ) -> Order | None:
        """The page has read the order when the web shop's cancel commits."""
        found = read_order(admin, request, object_id, from_field)
        if request.method == "POST" and found is not None:
            services.order_transition(order_id=found.pk, action="cancel", actor=ACTOR)
        return found

    monkeypatch.setattr(OrderAdmin, "get_object", read_then_cancelled_elsewhere)

    # Saving the page as it was shown, changing nothing.
    response = manager_web.post(admin_url("change", order), UNCHANGED_FORM)

    assert response.status_code == 302
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED
    assert order.cancelled_at is not None
    with pytest.raises(InvalidTransition):
        services.order_transition(order_id=order.pk, action="cancel", actor=ACTOR)


def test_orders_are_neither_added_nor_deleted_in_the_admin(web: Client, order: Order) -> None:
    before = _order_state(order)
    delete_url = admin_url("delete", order)

    statuses = {
        "add page": web.get(ORDER_ADD).status_code,
        "add": web.post(ORDER_ADD, _tampered_form(order)).status_code,
        "delete page": web.get(delete_url).status_code,
        "delete": web.post(delete_url, {"post": "yes"}).status_code,
    }
    changelist = web.get(ORDERS)
    forced = web.post(
        ORDERS, {"action": "delete_selected", "_selected_action": [order.pk], "post": "yes"}
    )

    assert statuses == dict.fromkeys(statuses, 403)
    offered = [name for name, _ in changelist.context["action_form"].fields["action"].choices]
    assert offered == ["", "mark_paid", "mark_fulfilled", "cancel"]
    assert "delete_selected" not in changelist.content.decode()
    assert forced.status_code == 302  # "no action selected": nothing happens
    assert Order.objects.count() == 1
    assert _order_state(order) == before
