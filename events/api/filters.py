from core.api.filters import FilterSet, IsoDateTimeFilter, MultipleChoiceFilter
from events.models import EVENT_TYPE_CHOICES, Event


class EventFilter(FilterSet):
    type = MultipleChoiceFilter(
        choices=EVENT_TYPE_CHOICES,
        distinct=False,
        help_text="One or more event types (repeat the parameter).",
    )
    occurred_after = IsoDateTimeFilter(
        field_name="occurred_at", lookup_expr="gte", help_text="ISO 8601, inclusive."
    )
    occurred_before = IsoDateTimeFilter(
        field_name="occurred_at", lookup_expr="lt", help_text="ISO 8601, exclusive."
    )

    class Meta:
        model = Event
        fields: list[str] = []
