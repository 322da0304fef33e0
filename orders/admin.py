"""Orders in the admin: read-only money and lines; status changes only through actions that call
the same services as the API (so a cancel here restocks through the ledger)."""

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest

from inventory_project.actors import user_actor
from inventory_project.exceptions import ApplicationError
from orders import services
from orders.exceptions import InvalidTransition
from orders.models import Order, OrderLine, OrderReturn, OrderReturnLine

READ_ONLY_ORDER_FIELDS = (
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
)


def _may_view_orders(request: HttpRequest) -> bool:
    return request.user.has_perm("orders.view_order")


class ReadOnlyInline(admin.TabularInline):  # type: ignore[type-arg]
    """Parts of an order (lines, returns): whoever may see the order sees them, read-only."""

    extra = 0
    can_delete = False

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _may_view_orders(request)

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


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = [
        "number",
        "status",
        "total",
        "currency",
        "customer_reference",
        "placed_by",
        "created_at",
    ]
    list_filter = ["status", "created_at"]
    search_fields = ["number", "customer_reference"]
    date_hierarchy = "created_at"
    readonly_fields = READ_ONLY_ORDER_FIELDS
    fields = READ_ONLY_ORDER_FIELDS
    inlines = [OrderLineInline, OrderReturnInline]
    actions = ["mark_paid", "mark_fulfilled", "cancel"]
    list_per_page = 50

    def get_queryset(self, request: HttpRequest) -> QuerySet[Order]:
        return super().get_queryset(request).select_related("api_key", "user")

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Orders come from the API (and its client apps), where prices and stock are checked.
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # an order that did not happen is cancelled, not deleted

    def save_model(self, request: HttpRequest, obj: Order, form: Any, change: bool) -> None:
        # Nothing on the page is editable; saving it must not write the order back (that
        # could undo a status change made meanwhile through the services).
        pass

    @admin.action(description="Mark the selected orders paid", permissions=["change"])
    def mark_paid(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        self._transition(request, queryset, "pay")

    @admin.action(description="Mark the selected orders fulfilled", permissions=["change"])
    def mark_fulfilled(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        self._transition(request, queryset, "fulfil")

    @admin.action(description="Cancel the selected orders (restocks them)", permissions=["change"])
    def cancel(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        self._transition(request, queryset, "cancel")

    def _transition(self, request: HttpRequest, queryset: QuerySet[Order], action: str) -> None:
        done, refused = [], []
        for order in queryset.order_by("id"):
            try:
                services.order_transition(
                    order_id=order.pk, action=action, actor=user_actor(request.user)
                )
            except InvalidTransition:
                refused.append(f"{order.number} ({order.status})")
            except (ApplicationError, ValidationError) as error:
                message = (
                    error.message
                    if isinstance(error, ApplicationError)
                    else " ".join(error.messages)
                )
                refused.append(f"{order.number} ({message})")
            else:
                done.append(order.number)
        if done:
            self.message_user(request, f"{action.title()}: {', '.join(done)}.", messages.SUCCESS)
        if refused:
            self.message_user(
                request,
                f"Left unchanged, their status does not allow it: {', '.join(refused)}.",
                messages.WARNING,
            )


class OrderReturnLineInline(ReadOnlyInline):
    model = OrderReturnLine
    fields = ("line", "quantity", "refund_amount")
    readonly_fields = fields


@admin.register(OrderReturn)
class OrderReturnAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["id", "order", "refund_total", "recorded_by", "created_at"]
    search_fields = ["order__number"]
    readonly_fields = ("order", "refund_total", "note", "recorded_by", "created_at")
    fields = readonly_fields
    inlines = [OrderReturnLineInline]

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _may_view_orders(request)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return _may_view_orders(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
