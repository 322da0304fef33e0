"""The reports' serializers: output only, but for the sales report's query."""

import datetime
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from reports.selectors import location_for_report
from stock.models import Location

MAX_SALES_DAYS = 366
EARLIEST, LATEST = datetime.date(2000, 1, 1), datetime.date(9998, 12, 31)
DEFAULT_SALES_DAYS = 30


class TotalsSerializer(serializers.Serializer[Any]):
    units = serializers.IntegerField()
    value = serializers.DecimalField(max_digits=16, decimal_places=2)


class CategoryValueSerializer(TotalsSerializer):
    category = serializers.CharField(source="group")
    variants = serializers.IntegerField()


class CollectionValueSerializer(TotalsSerializer):
    collection = serializers.CharField(source="group")
    variants = serializers.IntegerField()


class StockValueQuerySerializer(serializers.Serializer[Any]):
    location = serializers.CharField(
        required=False,
        help_text="A location's code (in any case): the stock there only. Every location's "
        "by default.",
    )

    def validate_location(self, code: str) -> Location:
        try:
            return location_for_report(code)
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.message_dict["location"]) from error


class StockValueSerializer(serializers.Serializer[Any]):
    currency = serializers.CharField()
    location = serializers.CharField(
        allow_null=True, help_text="The location's code; null for every location."
    )
    total = TotalsSerializer()
    by_category = CategoryValueSerializer(many=True)
    by_collection = CollectionValueSerializer(many=True)


# A day from EARLIEST to LATEST, as the schema states it (years 2000 to 9998).
DAY_PATTERN = (
    r"^(?:[2-8][0-9]{3}|9[0-8][0-9]{2}|99[0-8][0-9]|999[0-8])"
    r"-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])$"
)


@extend_schema_field({"type": "string", "format": "date", "pattern": DAY_PATTERN})
class ReportDayField(serializers.DateField):
    """A day of a report's range, from 2000-01-01 to 9998-12-31."""


class SalesQuerySerializer(serializers.Serializer[Any]):
    date_from = ReportDayField(
        required=False,
        help_text=f"First day, inclusive; {DEFAULT_SALES_DAYS} days before date_to by default. "
        f"Not after date_to; at most {MAX_SALES_DAYS} days from it.",
    )
    date_to = ReportDayField(required=False, help_text="Last day, inclusive; today by default.")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        today = timezone.localdate()
        date_to = attrs.get("date_to") or today
        # A default never reaches past the earliest day: the client did not ask for it.
        date_from = attrs.get("date_from") or max(
            EARLIEST, date_to - datetime.timedelta(days=DEFAULT_SALES_DAYS - 1)
        )
        for name, value in (("date_from", date_from), ("date_to", date_to)):
            # A day's bounds in the store's time zone must exist as datetimes.
            if not EARLIEST <= value <= LATEST:
                raise serializers.ValidationError(
                    {name: f"From {EARLIEST.isoformat()} to {LATEST.isoformat()}."}
                )
        if date_from > date_to:
            raise serializers.ValidationError(
                {"date_from": "Must not be after date_to (today when not given)."}
            )
        if (date_to - date_from).days + 1 > MAX_SALES_DAYS:
            raise serializers.ValidationError(
                {"date_from": f"At most {MAX_SALES_DAYS} days at once."}
            )
        return {"date_from": date_from, "date_to": date_to}


def _money(help_text: str, **kwargs: Any) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=16, decimal_places=2, help_text=help_text, **kwargs)


class UnpaidSerializer(serializers.Serializer[Any]):
    orders = serializers.IntegerField(
        source="unpaid_orders", help_text="Orders placed (on the day of placement), unpaid now."
    )
    units = serializers.IntegerField(source="unpaid_units", help_text="Units in those orders.")
    value = _money("Their totals.", source="unpaid_value")


class SalesTotalSerializer(serializers.Serializer[Any]):
    """The figures of a day, or of the whole range added up."""

    orders = serializers.IntegerField(
        help_text="Orders paid, on the day of payment (also those cancelled later: see refunds)."
    )
    units = serializers.IntegerField(help_text="Units in those orders.")
    gross = _money("Those orders' totals.")
    refunds = _money(
        "Refunds of returns, on the day each was recorded, and totals of paid orders, on the "
        "day each was cancelled."
    )
    net = _money("gross - refunds; negative when more was refunded than sold.")
    unpaid = UnpaidSerializer(
        source="*",
        help_text="Open orders, not sales: the only figures that change after the day, as "
        "those orders are paid or cancelled.",
    )


class _DateSerializer(serializers.Serializer[Any]):
    date = serializers.DateField()


class SalesDaySerializer(_DateSerializer, SalesTotalSerializer):
    """A day: its date first, then the same figures as the total."""


class SalesSerializer(serializers.Serializer[Any]):
    currency = serializers.CharField()
    time_zone = serializers.CharField(help_text="The store's time zone, in which days begin.")
    date_from = serializers.DateField()
    date_to = serializers.DateField()
    total = SalesTotalSerializer()
    days = SalesDaySerializer(many=True)
