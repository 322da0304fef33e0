"""The staff's stock dashboard: an admin page beside the model pages."""

import datetime
from decimal import Decimal
from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from reports import selectors
from reports.selectors import SalesDay, sales_by_day, sales_sum

DASHBOARD_DAYS = 30
SALES_PERIODS = ((1, "Today"), (7, "Last 7 days"), (DASHBOARD_DAYS, f"Last {DASHBOARD_DAYS} days"))
LOW_STOCK_ROWS = 15
LATEST_MOVEMENTS = 12


def _bars(rows: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    """Each row with ``share``: its ``key`` as a percentage of the largest (for bar lengths)."""
    top = max((row[key] for row in rows), default=0) or 1
    return [{**row, "share": round(float(row[key]) * 100 / float(top), 1)} for row in rows]


def _columns(days: list[SalesDay], key: str, height: int = 120) -> dict[str, Any]:
    """A column chart of ``key`` per day, as SVG geometry: x, y and height of each column."""
    top = max((getattr(day, key) for day in days), default=0) or 1
    width = 100 / max(len(days), 1)
    columns = []
    for index, day in enumerate(days):
        column_height = round(float(getattr(day, key)) * height / float(top), 1)
        columns.append(
            {
                "day": day,
                "x": round(index * width + width * 0.15, 2),
                "width": round(width * 0.7, 2),
                "y": round(height - column_height, 1),
                "height": column_height,
            }
        )
    return {"columns": columns, "height": height, "top": top, "key": key}


def dashboard(request: HttpRequest) -> HttpResponse:
    """Stock and sales at a glance. A constant number of queries, whatever the catalog's size."""
    if not request.user.has_perm("catalog.view_variant"):
        raise PermissionDenied
    by_category = selectors.stock_value_by("category")
    by_collection = selectors.stock_value_by("collection")
    low_stock = list(selectors.low_stock_list(limit=LOW_STOCK_ROWS))
    today = timezone.localdate()
    may_see_sales = request.user.has_perm("orders.view_order")
    days = (
        sales_by_day(date_from=today - datetime.timedelta(days=DASHBOARD_DAYS - 1), date_to=today)
        if may_see_sales
        else []
    )
    # The same figures as the API's sales report, over the last day, week and month.
    sales_periods = [
        {"label": label, "figures": sales_sum(days[-length:])}
        for length, label in SALES_PERIODS
        if days
    ]
    context = {
        **admin.site.each_context(request),
        "title": "Stock dashboard",
        "currency": _currency(),
        "units": sum(row["units"] for row in by_category),
        "value": sum((row["value"] for row in by_category), Decimal("0.00")),
        "by_category": _bars(by_category, "value"),
        "by_collection": _bars(by_collection, "value"),
        "low_stock": low_stock,
        "low_stock_limit": LOW_STOCK_ROWS,
        "may_see_sales": may_see_sales,
        "sales_days": DASHBOARD_DAYS,
        "time_zone": timezone.get_current_timezone_name(),
        "orders_chart": _columns(days, "orders"),
        "units_chart": _columns(days, "units"),
        "sales": sales_sum(days),
        "sales_periods": sales_periods,
        # The ledger only for those who may read it (as over the API).
        "movements": list(selectors.movement_latest(limit=LATEST_MOVEMENTS))
        if request.user.has_perm("stock.view_stockmovement")
        else [],
    }
    return render(request, "admin/dashboard.html", context)


def _currency() -> str:
    from django.conf import settings

    return str(settings.STORE_CURRENCY)
