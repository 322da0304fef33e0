"""The order's admin: its list, its read-only page, the status actions (mark paid, mark
fulfilled, cancel after a confirmation page) and the page that records a return; every change
goes through ``orders.services``, as the API's do."""

from decimal import Decimal
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Prefetch, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse

from core.actors import user_actor
from core.exceptions import ApplicationError
from orders import selectors, services
from orders.admin.forms import ReturnForm
from orders.admin.inlines import OrderLineInline, OrderReturnInline
from orders.exceptions import InvalidTransition
from orders.models import Order, OrderLine, OrderStatus
from orders.services import TRANSITIONS, InvalidOrderLines

RETURN_PERMISSION = "orders.return_order"
CANCELLABLE = TRANSITIONS["cancel"][0]

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


def _error_text(error: ApplicationError | ValidationError) -> str:
    return error.message if isinstance(error, ApplicationError) else " ".join(error.messages)


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
    change_form_template = "admin/orders/order/change_form.html"

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view
        return [
            path("<int:order_id>/cancel/", view(self.cancel_view), name="orders_order_cancel"),
            path("<int:order_id>/return/", view(self.return_view), name="orders_order_return"),
            *super().get_urls(),
        ]

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: Order | None = None,
    ) -> HttpResponse:
        context["can_cancel"] = (
            obj is not None
            and obj.status in CANCELLABLE
            and self.has_change_permission(request, obj)
        )
        context["can_return"] = (
            obj is not None
            and obj.status == OrderStatus.FULFILLED
            and self.has_return_permission(request)
        )
        return super().render_change_form(request, context, add, change, form_url, obj)

    def has_return_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(RETURN_PERMISSION)

    def _order_with_lines(self, request: HttpRequest, order_id: int) -> Order:
        orders = self.get_queryset(request).prefetch_related(
            Prefetch("lines", queryset=OrderLine.objects.order_by("id"))
        )
        return get_object_or_404(orders, pk=order_id)

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
    def cancel(self, request: HttpRequest, queryset: QuerySet[Order]) -> HttpResponse | None:
        """First a page that lists the orders and what goes back on the shelf; its "Yes"
        posts the action again, confirmed, and only then are the orders cancelled."""
        if request.POST.get("post") == "yes":
            self._transition(request, queryset, "cancel")
            return None
        orders = list(
            queryset.prefetch_related(
                Prefetch("lines", queryset=OrderLine.objects.order_by("id"))
            ).order_by("id")
        )
        return self._cancel_confirmation(
            request,
            orders,
            hidden={"action": "cancel", ACTION_CHECKBOX_NAME: [order.pk for order in orders]},
            form_url=reverse("admin:orders_order_changelist"),
            back_url=reverse("admin:orders_order_changelist"),
        )

    def cancel_view(self, request: HttpRequest, order_id: int) -> HttpResponse:
        """Cancel one order from its page, after the same confirmation as the list's."""
        order = self._order_with_lines(request, order_id)
        if not self.has_change_permission(request, order):
            raise PermissionDenied
        order_url = reverse("admin:orders_order_change", args=[order.pk])
        if request.method == "POST" and request.POST.get("post") == "yes":
            self._transition(request, self.get_queryset(request).filter(pk=order.pk), "cancel")
            return HttpResponseRedirect(order_url)
        return self._cancel_confirmation(
            request, [order], hidden={}, form_url=request.path, back_url=order_url
        )

    def _cancel_confirmation(
        self,
        request: HttpRequest,
        orders: list[Order],
        *,
        hidden: dict[str, Any],
        form_url: str,
        back_url: str,
    ) -> HttpResponse:
        cancellable = [
            (order, selectors.order_cancel_restock(order))
            for order in orders
            if order.status in CANCELLABLE
        ]
        context = {
            **self.admin_site.each_context(request),
            "title": "Cancel orders" if len(orders) > 1 else f"Cancel order {orders[0].number}",
            "opts": self.opts,
            "cancellable": cancellable,
            "left_alone": [order for order in orders if order.status not in CANCELLABLE],
            "units": sum(units for _, restock in cancellable for _, units in restock),
            "hidden": [
                (name, value)
                for name, values in hidden.items()
                for value in (values if isinstance(values, list) else [values])
            ],
            "form_url": form_url,
            "back_url": back_url,
        }
        return TemplateResponse(request, "admin/orders/order/cancel_confirmation.html", context)

    def return_view(self, request: HttpRequest, order_id: int) -> HttpResponse:
        """Record a return of a fulfilled order through ``services.order_return``, as the API
        does: all of it or nothing, its errors on the form."""
        if not (self.has_return_permission(request) and self.has_view_permission(request)):
            raise PermissionDenied
        order = self._order_with_lines(request, order_id)
        order_url = reverse("admin:orders_order_change", args=[order.pk])
        if order.status != OrderStatus.FULFILLED:
            self.message_user(
                request,
                f"Only a fulfilled order takes returns; {order.number} is {order.status}.",
                messages.ERROR,
            )
            return HttpResponseRedirect(order_url)
        lines = list(order.lines.all())
        form = ReturnForm(request.POST if request.method == "POST" else None, lines=lines)
        if request.method == "POST" and form.is_valid():
            try:
                recorded = services.order_return(
                    order_id=order.pk,
                    lines=form.requests(),
                    note=form.cleaned_data["note"],
                    actor=user_actor(request.user),
                )
            except InvalidOrderLines as error:
                form.add_service_errors(error)
            except (ApplicationError, ValidationError) as error:
                self.message_user(
                    request, f"Nothing was recorded: {_error_text(error)}", messages.ERROR
                )
                return HttpResponseRedirect(order_url)
            else:
                units = sum(request_.quantity for request_ in form.requests())
                self.message_user(
                    request,
                    f"Return recorded for {order.number}: {units} unit(s) back in stock, "
                    f"refund {recorded.refund_total} {order.currency}.",
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(order_url)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Record a return of order {order.number}",
            "opts": self.opts,
            "order": order,
            "form": form,
            "rows": [
                (line, form[ReturnForm.field_name(line)], line.quantity - line.returned_quantity)
                for line in lines
            ],
            "refundable": sum(
                (line.unit_price * (line.quantity - line.returned_quantity) for line in lines),
                Decimal("0.00"),
            ),
            "order_url": order_url,
        }
        return TemplateResponse(request, "admin/orders/order/return_form.html", context)

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
                refused.append(f"{order.number} ({_error_text(error)})")
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
