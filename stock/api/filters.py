from typing import Any

import django_filters
from django.db.models import F, QuerySet

from catalog.api.filters import BooleanFilter, IdFilter, IsoDateTimeFilter
from catalog.validators import normalize_code
from core.api.filters import FilterSet, MultipleChoiceFilter
from stock.models import (
    ACTOR_MAX_LENGTH,
    EFFECTIVE_THRESHOLD,
    LOCATION_CODE_MAX_LENGTH,
    CountSession,
    CountStatus,
    Location,
    LocationKind,
    MovementReason,
    StockLevel,
    StockMovement,
    Transfer,
    TransferStatus,
)


def location_code_filter(**kwargs: Any) -> django_filters.CharFilter:
    """``?location=store-01``: the rows at the location of that code, in any case (none for a
    code that names no location). The filter's name (or ``field_name``) is the foreign key."""
    kwargs.setdefault("help_text", "The location's code, any case.")
    return django_filters.CharFilter(
        method=filter_location, max_length=LOCATION_CODE_MAX_LENGTH, **kwargs
    )


def filter_location(queryset: QuerySet[Any], name: str, value: str) -> QuerySet[Any]:
    return queryset.filter(**{f"{name}__code": normalize_code(value)})


class StockMovementFilter(FilterSet):
    variant = IdFilter(field_name="variant_id")
    product = IdFilter(field_name="product_id")
    location = location_code_filter()
    # distinct=False: the rows are distinct anyway, and DISTINCT would stop PostgreSQL from
    # reading the ledger in index order (a sort of every matching row on each page).
    reason = MultipleChoiceFilter(choices=MovementReason.choices, distinct=False)
    actor = django_filters.CharFilter(
        lookup_expr="iexact",
        max_length=ACTOR_MAX_LENGTH,
        help_text="The user's or the API key's name, any case.",
    )
    created_after = IsoDateTimeFilter(
        field_name="created_at", lookup_expr="gte", help_text="ISO 8601, inclusive."
    )
    created_before = IsoDateTimeFilter(
        field_name="created_at", lookup_expr="lt", help_text="ISO 8601, exclusive."
    )

    class Meta:
        model = StockMovement
        fields: list[str] = []


class LocationFilter(FilterSet):
    kind = MultipleChoiceFilter(choices=LocationKind.choices, distinct=False)
    is_active = BooleanFilter(help_text="true: the active locations; false: the archived ones.")

    class Meta:
        model = Location
        fields: list[str] = []


class StockLevelFilter(FilterSet):
    variant = IdFilter(field_name="variant_id")
    product = IdFilter(field_name="variant__product_id")
    sku = django_filters.CharFilter(
        method="filter_sku", max_length=64, help_text="The variant's SKU, any case."
    )
    location = location_code_filter()
    in_stock = BooleanFilter(
        method="filter_in_stock", help_text="true: some units are available there; false: none."
    )
    low_stock = BooleanFilter(
        method="filter_low_stock",
        help_text="true: the units available there are at or below the low_stock_threshold "
        "that applies there (the level's own, else the variant's).",
    )

    class Meta:
        model = StockLevel
        fields: list[str] = []

    def filter_sku(self, queryset: QuerySet[Any], name: str, value: str) -> QuerySet[Any]:
        return queryset.filter(variant__sku=normalize_code(value))

    # What is available (on hand - committed) is computed, never stored: compared in the query.

    def filter_in_stock(self, queryset: QuerySet[Any], name: str, value: bool) -> QuerySet[Any]:
        if value:
            return queryset.filter(on_hand__gt=F("committed"))
        return queryset.filter(on_hand=F("committed"))

    def filter_low_stock(self, queryset: QuerySet[Any], name: str, value: bool) -> QuerySet[Any]:
        at_most = F("committed") + EFFECTIVE_THRESHOLD
        if value:
            return queryset.filter(on_hand__lte=at_most)
        return queryset.filter(on_hand__gt=at_most)


class TransferFilter(FilterSet):
    status = MultipleChoiceFilter(choices=TransferStatus.choices, distinct=False)
    from_location = location_code_filter(help_text="The source's code, any case.")
    to_location = location_code_filter(help_text="The destination's code, any case.")

    class Meta:
        model = Transfer
        fields: list[str] = []


class CountFilter(FilterSet):
    status = MultipleChoiceFilter(choices=CountStatus.choices, distinct=False)
    location = location_code_filter()

    class Meta:
        model = CountSession
        fields: list[str] = []
