import django_filters

from catalog.api.filters import IdFilter, IsoDateTimeFilter
from core.api.filters import FilterSet, MultipleChoiceFilter
from stock.models import ACTOR_MAX_LENGTH, MovementReason, StockMovement


class StockMovementFilter(FilterSet):
    variant = IdFilter(field_name="variant_id")
    product = IdFilter(field_name="product_id")
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
