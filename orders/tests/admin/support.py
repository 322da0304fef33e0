"""Helpers shared by the orders' admin tests: the list's address, the roles, and reading an order's
state, the ledger and the stock quantities to prove what changed and what did not. The names keep
their leading underscore from the module they were moved out of, so the tests read as before."""

from typing import Any

from django.urls import reverse
from django.utils.html import escape

from catalog.models import Variant
from core.actors import system_actor
from orders import services
from orders.models import Order
from stock.models import StockMovement

ORDERS = reverse("admin:orders_order_changelist")

ROLES = ["admin_user", "manager", "store_staff"]

ACTOR = system_actor("test")


def _messages(response: Any) -> list[tuple[int, str]]:
    """The messages shown on the page."""
    shown = [(m.level, m.message) for m in response.context["messages"]]
    html = response.content.decode()
    for _, text in shown:
        assert escape(text) in html
    return shown


def _order_state(order: Order) -> dict[str, Any]:
    """All of an order that money and status are made of (``updated_at`` aside)."""
    row = Order.objects.values(
        "number",
        "status",
        "total",
        "currency",
        "customer_reference",
        "note",
        "placed_by",
        "api_key",
        "user",
        "created_at",
        "paid_at",
        "fulfilled_at",
        "cancelled_at",
    ).get(pk=order.pk)
    lines = order.lines.order_by("id").values_list(
        "variant", "sku", "quantity", "unit_price", "line_total", "returned_quantity"
    )
    return {**row, "lines": list(lines)}


def _ledger() -> list[tuple[Any, ...]]:
    return list(StockMovement.objects.order_by("id").values_list("id", "variant", "delta"))


def _quantities() -> dict[str, int]:
    return dict(Variant.objects.values_list("sku", "quantity"))


def _move(order: Order, *actions: str) -> Order:
    for action in actions:
        services.order_transition(order_id=order.pk, action=action, actor=ACTOR)
    order.refresh_from_db()
    return order


def _cancel_url(order: Order) -> str:
    return reverse("admin:orders_order_cancel", args=[order.pk])
