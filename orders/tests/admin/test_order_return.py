"""The returns' own pages: listed and shown read-only to every staff role; nothing is changed,
added or deleted there."""

from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from catalog.tests.support import admin_url
from orders.models import Order, OrderReturn

pytestmark = pytest.mark.django_db

RETURNS = reverse("admin:orders_orderreturn_changelist")
RETURN_ADD = reverse("admin:orders_orderreturn_add")


def _return_state(order_return: OrderReturn) -> tuple[Any, ...]:
    return (
        OrderReturn.objects.values_list("order", "refund_total", "note", "recorded_by").get(
            pk=order_return.pk
        ),
        list(order_return.lines.values_list("line", "quantity", "refund_amount")),
    )


@pytest.mark.parametrize(
    "web",
    [
        "admin_user",
        "manager",
        "store_staff",
    ],
    indirect=True,
)
def test_the_returns_admin_lists_returns_read_only(
    web: Client, order: Order, order_return: OrderReturn
) -> None:
    before = _return_state(order_return)
    assert before[0][1] == Decimal("29.90")  # one tee refunded at the price it was sold at
    page_url = admin_url("change", order_return)

    changelist = web.get(RETURNS)
    page = web.get(page_url)
    order_page = web.get(admin_url("change", order))
    statuses = {
        "add page": web.get(RETURN_ADD).status_code,
        "add": web.post(RETURN_ADD, {"order": str(order.pk), "refund_total": "1.00"}).status_code,
        "delete page": web.get(admin_url("delete", order_return)).status_code,
        "delete": web.post(admin_url("delete", order_return), {"post": "yes"}).status_code,
    }
    tampered = web.post(
        page_url,
        {
            "refund_total": "999.00",
            "note": "rewritten",
            "lines-TOTAL_FORMS": "1",
            "lines-INITIAL_FORMS": "1",
            "lines-MIN_NUM_FORMS": "0",
            "lines-MAX_NUM_FORMS": "1000",
            "lines-0-id": str(order_return.lines.get().pk),
            "lines-0-quantity": "2",
            "lines-0-refund_amount": "999.00",
        },
    )

    assert changelist.status_code == 200
    assert list(changelist.context["cl"].result_list) == [order_return]
    assert "29.90" in changelist.content.decode()
    assert page.status_code == 200
    html = page.content.decode()
    assert "Too small" in html
    assert "29.90" in html
    assert dict(page.context["adminform"].form.fields) == {}
    [lines] = page.context["inline_admin_formsets"]
    assert [form.instance for form in lines.formset.forms] == list(order_return.lines.all())
    assert (lines.has_add_permission, lines.has_change_permission) == (False, False)
    assert 'name="note"' not in html
    # The order's page lists its returns too.
    assert order_page.status_code == 200
    assert "Too small" in order_page.content.decode()
    assert statuses == dict.fromkeys(statuses, 403)
    # Saving the page (superusers may) saves nothing; others may not post it at all.
    assert tampered.status_code == (302 if page.context["has_change_permission"] else 403)
    assert _return_state(order_return) == before
    assert OrderReturn.objects.count() == 1
