"""The variant admin with its stock: the catalog's (``catalog.admin.variants``), registered
again here with the variant's stock at each location, its stock change or count at one, its
latest movements, and the list's "Receive stock" action. The catalog may not import the stock
app, which sits above it, so the stock app extends the catalog's admin, as Django's
documentation extends the User admin."""

from typing import Any

from django.contrib import admin
from django.db.models import Prefetch, prefetch_related_objects
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from catalog.admin.variants import VariantAdmin
from catalog.models import Variant
from core.actors import user_actor
from stock import selectors
from stock.admin.common import StockOrModelChange
from stock.admin.forms import STOCK_FORM_FIELDS, StockVariantForm, stock_form
from stock.admin.receiving import ReceiveStockAction

RECENT_MOVEMENTS = 10

admin.site.unregister(Variant)


@admin.register(Variant)
class StockVariantAdmin(ReceiveStockAction, StockOrModelChange, VariantAdmin):
    form = StockVariantForm
    actions = ["receive_stock"]

    def get_fieldsets(self, request: HttpRequest, obj: Variant | None = None) -> Any:
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None:
            return fieldsets
        return [
            *fieldsets,
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
        readonly = super().get_readonly_fields(request, obj)
        return readonly if obj is None else (*readonly, "levels", "recent_movements")

    def get_object(
        self, request: HttpRequest, object_id: str, from_field: str | None = None
    ) -> Variant | None:
        variant = super().get_object(request, object_id, from_field)
        if variant is not None:
            # Read once for the levels' table and the form's checks.
            prefetch_related_objects(
                [variant], Prefetch("stock_levels", queryset=selectors.stock_level_list())
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
            '<td class="num">{}</td><td class="num">{}</td><td class="num">{}</td>'
            '<td class="num">{}</td></tr>',
            (
                (
                    level.location,
                    level.on_hand,
                    level.committed,
                    level.available,
                    level.incoming,
                    _setting(level.effective_low_stock_threshold, level.low_stock_threshold),
                    _setting(level.effective_target, level.target),
                )
                for level in levels
            ),
        )
        return format_html(
            '<table class="stock-levels"><thead><tr><th>Location</th><th class="num">On hand'
            '</th><th class="num">Committed</th><th class="num">Available</th>'
            '<th class="num" title="Shipped by transfers, not received yet">Incoming</th>'
            '<th class="num" title="The level\'s own, else the variant\'s (marked *)">'
            'Low at</th><th class="num" title="What replenishing brings it to (set over the '
            'API: PUT /api/v1/variants/{{id}}/levels/{{location}}/)">Target</th></tr></thead>'
            "<tbody>{}</tbody></table>",
            rows,
        )

    @admin.display(description="Latest movements")
    def recent_movements(self, variant: Variant) -> SafeString:
        movements = selectors.stock_movement_list().filter(variant=variant)[:RECENT_MOVEMENTS]
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

    def save_model(self, request: HttpRequest, obj: Variant, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if change:
            form.apply_stock(user_actor(request.user))


def _setting(effective: int, own: int | None) -> str:
    """A level's threshold or target as the table shows it: a default (not set for the level)
    marked with an asterisk."""
    return str(effective) if own is not None else f"{effective}*"
