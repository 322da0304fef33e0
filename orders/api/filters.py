import django_filters

from catalog.api.filters import IsoDateTimeFilter
from inventory_project.api.filters import FilterSet
from orders.models import Order, OrderStatus


class OrderFilter(FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=OrderStatus.choices, distinct=False)
    created_after = IsoDateTimeFilter(
        field_name="created_at", lookup_expr="gte", help_text="ISO 8601, inclusive."
    )
    created_before = IsoDateTimeFilter(
        field_name="created_at", lookup_expr="lt", help_text="ISO 8601, exclusive."
    )
    customer_reference = django_filters.CharFilter(max_length=100, help_text="Exact match.")

    class Meta:
        model = Order
        fields: list[str] = []
