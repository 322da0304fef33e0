"""The variant admin: a variant's fields, its stock at each location, its stock change or count
at one, its latest movements."""

from typing import Any

from django.contrib import admin
from django.db.models import Prefetch, QuerySet, prefetch_related_objects
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from catalog import selectors, services
from catalog.admin.common import (
    ServiceErrorsAsMessages,
    StockOrModelChange,
    changed_values,
    may_edit,
    stock_badge,
)
from catalog.admin.forms import STOCK_FORM_FIELDS, VARIANT_FORM_FIELDS, VariantForm, stock_form
from catalog.admin.receiving import ReceiveStockAction
from catalog.models import Variant
from catalog.services import VARIANT_UPDATABLE_FIELDS
from core.actors import user_actor
from stock import selectors as stock_selectors

RECENT_MOVEMENTS = 10


@admin.register(Variant)
class VariantAdmin(ReceiveStockAction, StockOrModelChange, ServiceErrorsAsMessages):
    form = VariantForm
    list_display = ["sku", "product", "size", "barcode", "stock", "low_stock_threshold"]
    list_filter = ["size", "in_stock", "low_stock", "product__category", "product__is_active"]
    search_fields = ["sku", "barcode", "product__name"]
    list_select_related = ["product"]
    autocomplete_fields = ["product"]
    list_per_page = 100
    actions = ["receive_stock"]

    class Media:
        css = {"all": ["catalog/admin.css"]}

    def get_fieldsets(self, request: HttpRequest, obj: Variant | None = None) -> Any:
        if obj is None:
            return [(None, {"fields": ("product", *VARIANT_FORM_FIELDS)})]
        return [
            (None, {"fields": ("product", *VARIANT_FORM_FIELDS)}),
            ("Stock by location", {"fields": ("levels",)}),
            (
                "Change the stock",
                {
                    "fields": (*STOCK_FORM_FIELDS, "on_hand_seen"),
                    "description": "At a location: a change with its reason, or the quantity "
                    "counted on the shelf there. Either is recorded as a stock movement with "
                    "you as its actor.",
                },
            ),
            ("Stock history", {"fields": ("recent_movements",)}),
        ]

    def get_readonly_fields(self, request: HttpRequest, obj: Variant | None = None) -> Any:
        if obj is None:
            return ()
        if not may_edit(request, Variant):
            return ("product", *VARIANT_FORM_FIELDS, "levels", "recent_movements")
        return ("product", "levels", "recent_movements")

    def get_object(
        self, request: HttpRequest, object_id: str, from_field: str | None = None
    ) -> Variant | None:
        variant = super().get_object(request, object_id, from_field)
        if variant is not None:
            # Read once for the levels' table and the form's checks.
            prefetch_related_objects(
                [variant], Prefetch("stock_levels", queryset=stock_selectors.stock_level_list())
            )
        return variant

    def get_form(
        self, request: HttpRequest, obj: Variant | None = None, change: bool = False, **kwargs: Any
    ) -> Any:
        return super().get_form(request, obj, change, form=stock_form(request, self.form), **kwargs)

    @admin.display(description="Levels")
    def levels(self, variant: Variant) -> SafeString:
        levels = variant.stock_levels.all()
        if not levels:
            return format_html("<p>{}</p>", "No stock at any location yet.")
        rows = format_html_join(
            "",
            '<tr><td>{}</td><td class="num">{}</td><td class="num">{}</td>'
            '<td class="num">{}</td></tr>',
            ((level.location, level.on_hand, level.committed, level.available) for level in levels),
        )
        return format_html(
            '<table class="stock-levels"><thead><tr><th>Location</th><th class="num">On hand'
            '</th><th class="num">Committed</th><th class="num">Available</th></tr></thead>'
            "<tbody>{}</tbody></table>",
            rows,
        )

    @admin.display(description="Latest movements")
    def recent_movements(self, variant: Variant) -> SafeString:
        movements = stock_selectors.stock_movement_list().filter(variant=variant)[:RECENT_MOVEMENTS]
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
            "</tr>",
            (
                (
                    m.created_at.strftime("%Y-%m-%d %H:%M"),
                    m.location.code,
                    m.get_reason_display(),
                    f"{m.delta:+d}",
                    m.quantity_after,
                    m.actor,
                    m.note or m.reference,
                )
                for m in movements
            ),
        )
        url = reverse("admin:stock_stockmovement_changelist") + f"?variant__id__exact={variant.pk}"
        return format_html(
            '<table class="stock-history"><thead><tr><th>When</th><th>Location</th><th>Reason'
            "</th><th>Change</th><th>After</th><th>By</th><th>Note</th></tr></thead><tbody>{}"
            "</tbody></table>"
            '<p><a href="{}">All movements of {}</a></p>',
            rows,
            url,
            variant.sku,
        )

    @admin.display(description="Stock", ordering="quantity")
    def stock(self, variant: Variant) -> SafeString:
        return stock_badge(variant)

    def has_delete_permission(self, request: HttpRequest, obj: Variant | None = None) -> bool:
        if obj is not None and selectors.variant_ids_with_history([obj.pk]):
            return False
        return super().has_delete_permission(request, obj)

    def save_model(self, request: HttpRequest, obj: Variant, form: Any, change: bool) -> None:
        if change:
            services.variant_update(
                variant=Variant.objects.get(pk=obj.pk),
                data=changed_values(form, VARIANT_UPDATABLE_FIELDS),
            )
            form.apply_stock(user_actor(request.user))
            return
        created = services.variant_create(
            product=form.cleaned_data["product"],
            size=form.cleaned_data["size"],
            quantity=form.cleaned_data["quantity"],
            sku=form.cleaned_data["sku"] or None,
            barcode=form.cleaned_data["barcode"],
            low_stock_threshold=form.cleaned_data["low_stock_threshold"],
            actor=user_actor(request.user),
        )
        obj.pk, obj.sku = created.pk, created.sku
        obj._state.adding = False

    def delete_model(self, request: HttpRequest, obj: Variant) -> None:
        services.variant_delete(variant=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Variant]) -> None:
        for variant in queryset:
            services.variant_delete(variant=variant)
