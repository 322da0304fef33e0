"""The parts of an order shown on its pages (lines, returns, a return's lines): read-only."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from orders.models import OrderLine, OrderReturn, OrderReturnLine


def may_view_orders(request: HttpRequest) -> bool:
    return request.user.has_perm("orders.view_order")


class ReadOnlyInline(admin.TabularInline):  # type: ignore[type-arg]
    """Parts of an order (lines, returns): whoever may see the order sees them, read-only."""

    extra = 0
    can_delete = False

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return may_view_orders(request)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class OrderLineInline(ReadOnlyInline):
    model = OrderLine
    fields = (
        "sku",
        "product_name",
        "size",
        "quantity",
        "unit_price",
        "line_total",
        "returned_quantity",
    )
    readonly_fields = fields


class OrderReturnInline(ReadOnlyInline):
    model = OrderReturn
    fields = ("created_at", "refund_total", "recorded_by", "note")
    readonly_fields = fields
    show_change_link = True


class OrderReturnLineInline(ReadOnlyInline):
    model = OrderReturnLine
    fields = ("line", "quantity", "refund_amount")
    readonly_fields = fields
