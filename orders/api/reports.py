"""Figures for client dashboards: stock value by category and collection, sales per day. The same
selectors draw the admin's dashboard."""

import datetime
from typing import Any

from django.conf import settings
from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog import selectors as catalog_selectors
from core.api.mixins import StrictRequestMixin
from core.api.models import ApiKey, Scope
from core.api.permissions import ScopeOrPermission
from orders.selectors import sales_by_day, sales_sum

MAX_SALES_DAYS = 366
EARLIEST, LATEST = datetime.date(2000, 1, 1), datetime.date(9998, 12, 31)
DEFAULT_SALES_DAYS = 30


class StockValuePermission(ScopeOrPermission):
    """Every key may read each variant's quantity and price, so their sums too; staff need to
    see variants."""

    permission = "catalog.view_variant"

    def has_permission(self, request: Request, view: APIView) -> bool:
        if isinstance(request.auth, ApiKey):
            return True
        return super().has_permission(request, view)


class SalesPermission(ScopeOrPermission):
    """Sales are the store's business, not a catalog reader's: keys need ``reports:read``."""

    scope = Scope.REPORTS_READ
    permission = "orders.view_order"


class TotalsSerializer(serializers.Serializer[Any]):
    units = serializers.IntegerField()
    value = serializers.DecimalField(max_digits=16, decimal_places=2)


class CategoryValueSerializer(TotalsSerializer):
    category = serializers.CharField(source="group")
    variants = serializers.IntegerField()


class CollectionValueSerializer(TotalsSerializer):
    collection = serializers.CharField(source="group")
    variants = serializers.IntegerField()


class StockValueSerializer(serializers.Serializer[Any]):
    currency = serializers.CharField()
    total = TotalsSerializer()
    by_category = CategoryValueSerializer(many=True)
    by_collection = CollectionValueSerializer(many=True)


class StockValueView(StrictRequestMixin, APIView):
    permission_classes = [StockValuePermission]

    @extend_schema(
        operation_id="reports_stock_value",
        tags=["reports"],
        responses={200: StockValueSerializer},
        description="Units on hand and their value at current prices, by category and by "
        "collection, largest value first.",
    )
    def get(self, request: Request) -> Response:
        by_category = catalog_selectors.stock_value_by("category")
        total = {
            "units": sum(row["units"] for row in by_category),
            "value": sum(row["value"] for row in by_category),
        }
        report = {
            "currency": settings.STORE_CURRENCY,
            "total": total,
            "by_category": by_category,
            "by_collection": catalog_selectors.stock_value_by("collection"),
        }
        return Response(StockValueSerializer(report).data)


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


class SalesView(StrictRequestMixin, APIView):
    permission_classes = [SalesPermission]
    query_parameters = frozenset(SalesQuerySerializer().fields)

    @extend_schema(
        operation_id="reports_sales",
        tags=["reports"],
        parameters=[SalesQuerySerializer],
        responses={200: SalesSerializer},
        description="Sales per day in the store's time zone, every day of the range present, "
        "and their total. Each figure counts on the day of its event, so a past day never "
        "changes: gross on the day an order was paid, refunds on the day of a return or of the "
        "cancellation of a paid order; net = gross - refunds. Unpaid orders are shown apart, "
        "on the day they were placed, while they stay unpaid.",
    )
    def get(self, request: Request) -> Response:
        query = SalesQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        days = sales_by_day(**query.validated_data)
        report = {
            "currency": settings.STORE_CURRENCY,
            "time_zone": timezone.get_current_timezone_name(),
            **query.validated_data,
            "total": sales_sum(days),
            "days": days,
        }
        return Response(SalesSerializer(report).data)
