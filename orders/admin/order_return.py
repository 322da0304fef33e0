"""A return's own pages: read-only for whoever may see orders (returns are recorded from the
order's page, through the service)."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from orders.admin.inlines import OrderReturnLineInline, may_view_orders
from orders.models import OrderReturn


@admin.register(OrderReturn)
class OrderReturnAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["id", "order", "refund_total", "recorded_by", "created_at"]
    search_fields = ["order__number"]
    readonly_fields = ("order", "refund_total", "note", "recorded_by", "created_at")
    fields = readonly_fields
    inlines = [OrderReturnLineInline]

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return may_view_orders(request)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return may_view_orders(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
