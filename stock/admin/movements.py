"""The ledger's admin: every stock movement, read-only."""

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.text import Truncator

from stock import selectors
from stock.models import StockMovement


@admin.register(StockMovement)
class StockMovementAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """The ledger, read-only for everyone, superusers included: movements are never edited or
    deleted; a mistake is put right by a new movement."""

    list_display = [
        "created_at",
        "variant",
        "location_code",
        "reason",
        "signed_delta",
        "quantity_after",
        "signed_committed_delta",
        "committed_after",
        "signed_incoming_delta",
        "incoming_after",
        "actor",
        "reference",
        "short_note",
    ]
    list_filter = ["location", "reason", "actor_kind", "created_at"]
    search_fields = ["variant__sku", "actor", "reference", "note"]
    date_hierarchy = "created_at"
    list_select_related = ["variant", "location"]
    list_per_page = 100
    show_full_result_count = False  # no COUNT(*) over millions of rows on every page

    def get_queryset(self, request: HttpRequest) -> QuerySet[StockMovement]:
        return selectors.stock_movement_list()

    @admin.display(description="Location", ordering="location__code")
    def location_code(self, movement: StockMovement) -> str:
        return str(movement.location.code)

    @admin.display(description="Change", ordering="delta")
    def signed_delta(self, movement: StockMovement) -> str:
        return f"{movement.delta:+d}"

    @admin.display(description="Committed", ordering="committed_delta")
    def signed_committed_delta(self, movement: StockMovement) -> str:
        return f"{movement.committed_delta:+d}" if movement.committed_delta else "0"

    @admin.display(description="Incoming", ordering="incoming_delta")
    def signed_incoming_delta(self, movement: StockMovement) -> str:
        return f"{movement.incoming_delta:+d}" if movement.incoming_delta else "0"

    @admin.display(description="Note")
    def short_note(self, movement: StockMovement) -> str:
        return Truncator(movement.note).chars(40)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
