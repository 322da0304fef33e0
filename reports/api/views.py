"""Figures for client dashboards: stock value by category and collection, sales per day. The same
selectors draw the admin's dashboard."""

from django.conf import settings
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.mixins import StrictRequestMixin
from core.api.models import ApiKey, Scope
from core.api.permissions import ScopeOrPermission
from reports import selectors
from reports.api.serializers import (
    SalesQuerySerializer,
    SalesSerializer,
    StockValueQuerySerializer,
    StockValueSerializer,
)


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


class StockValueView(StrictRequestMixin, APIView):
    permission_classes = [StockValuePermission]
    query_parameters = frozenset(StockValueQuerySerializer().fields)

    @extend_schema(
        operation_id="reports_stock_value",
        tags=["reports"],
        parameters=[StockValueQuerySerializer],
        responses={200: StockValueSerializer},
        description="Units on hand (those committed to open orders included: they are still "
        "on the shelf) and their value at current prices, at one location or over every one, "
        "by category and by collection, largest value first. An unknown location is 400.",
    )
    def get(self, request: Request) -> Response:
        query = StockValueQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        location = query.validated_data.get("location")
        by_category = selectors.stock_value_by("category", location=location)
        total = {
            "units": sum(row["units"] for row in by_category),
            "value": sum(row["value"] for row in by_category),
        }
        report = {
            "currency": settings.STORE_CURRENCY,
            "location": location.code if location else None,
            "total": total,
            "by_category": by_category,
            "by_collection": selectors.stock_value_by("collection", location=location),
        }
        return Response(StockValueSerializer(report).data)


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
        days = selectors.sales_by_day(**query.validated_data)
        report = {
            "currency": settings.STORE_CURRENCY,
            "time_zone": timezone.get_current_timezone_name(),
            **query.validated_data,
            "total": selectors.sales_sum(days),
            "days": days,
        }
        return Response(SalesSerializer(report).data)
