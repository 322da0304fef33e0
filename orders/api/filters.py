import django_filters

from catalog.api.filters import IsoDateTimeFilter
from core.api.filters import FilterSet, MultipleChoiceFilter
from orders.models import REFERENCE_MAX_LENGTH, Order, OrderStatus
from stock.api.filters import location_code_filter


class OrderFilter(FilterSet):
    status = MultipleChoiceFilter(choices=OrderStatus.choices, distinct=False)
    location = location_code_filter()
    created_after = IsoDateTimeFilter(
        field_name="created_at", lookup_expr="gte", help_text="ISO 8601, inclusive."
    )
    created_before = IsoDateTimeFilter(
        field_name="created_at", lookup_expr="lt", help_text="ISO 8601, exclusive."
    )
    customer_reference = django_filters.CharFilter(
        lookup_expr="iexact",
        max_length=REFERENCE_MAX_LENGTH,
        help_text="The whole reference, any case.",
    )

    class Meta:
        model = Order
        fields: list[str] = []
