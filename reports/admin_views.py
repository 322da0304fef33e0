"""The staff's stock dashboard: an admin page beside the model pages."""

import datetime
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from reports import selectors
from reports.selectors import SalesDay, sales_by_day, sales_sum
from stock.models import Location, Transfer
from stock.selectors import location_list

DASHBOARD_DAYS = 30
SALES_PERIODS = ((1, "Today"), (7, "Last 7 days"), (DASHBOARD_DAYS, f"Last {DASHBOARD_DAYS} days"))
LOW_STOCK_ROWS = 15
LATEST_MOVEMENTS = 12
OPEN_TRANSFERS = 10


class LocationFilterForm(forms.Form):
    """The dashboard's location: every one (empty), or one, archived ones too (their history)."""

    location = forms.ChoiceField(required=False, label="Location")

    def __init__(self, *args: Any, locations: Sequence[Location], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.locations = {location.code: location for location in locations}
        self.fields["location"].choices = [  # type: ignore[attr-defined]
            ("", "All locations"),
            *(
                (code, f"{location}{'' if location.is_active else ' (archived)'}")
                for code, location in self.locations.items()
            ),
        ]

    def clean_location(self) -> Location | None:
        code = self.cleaned_data["location"]
        return self.locations[code] if code else None


def _low_stock(location: Location | None) -> list[dict[str, Any]]:
    """The rows of "Running low": over every location, each variant's total available; at a
    location, its level there."""
    if location is None:
        return [
            {
                "variant": variant,
                "available": variant.quantity,
                "location": None,
                "threshold": variant.low_stock_threshold,
            }
            for variant in selectors.low_stock_list(limit=LOW_STOCK_ROWS)
        ]
    return [
        {
            "variant": level.variant,
            "available": level.available,
            "location": location.code,
            "threshold": level.effective_low_stock_threshold,
        }
        for level in selectors.low_stock_at(location, limit=LOW_STOCK_ROWS)
    ]


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
    """Stock and sales at a glance; the stock (value, running low, movements) at one location
    if the page asks (``?location=CODE``). A constant number of queries, whatever the catalog's
    size."""
    if not request.user.has_perm("catalog.view_variant"):
        raise PermissionDenied
    where = LocationFilterForm(request.GET, locations=list(location_list()))
    # A code that names no location shows its error, and every location's figures.
    location = where.cleaned_data["location"] if where.is_valid() else None
    by_category = selectors.stock_value_by("category", location=location)
    by_collection = selectors.stock_value_by("collection", location=location)
    low_stock = _low_stock(location)
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
        "where": where,
        "location": location,
        "currency": _currency(),
        "units": sum(row["units"] for row in by_category),
        "value": sum((row["value"] for row in by_category), Decimal("0.00")),
        "by_category": _bars(by_category, "value"),
        "by_collection": _bars(by_collection, "value"),
        "low_stock": low_stock,
        "low_stock_limit": LOW_STOCK_ROWS,
        "by_location": selectors.stock_by_location(),
        "open_transfers": list(selectors.open_transfers(location=location, limit=OPEN_TRANSFERS)),
        "open_transfers_limit": OPEN_TRANSFERS,
        "transfer_admin": _transfer_admin(),
        "may_see_sales": may_see_sales,
        "sales_days": DASHBOARD_DAYS,
        "time_zone": timezone.get_current_timezone_name(),
        "orders_chart": _columns(days, "orders"),
        "units_chart": _columns(days, "units"),
        "sales": sales_sum(days),
        "sales_periods": sales_periods,
        # The ledger only for those who may read it (as over the API).
        "movements": list(selectors.movement_latest(limit=LATEST_MOVEMENTS, location=location))
        if request.user.has_perm("stock.view_stockmovement")
        else [],
    }
    return render(request, "admin/dashboard.html", context)


def _transfer_admin() -> str | None:
    """The name of the transfers' admin change page, if transfers have one: the dashboard links
    each open transfer there."""
    return "admin:stock_transfer_change" if admin.site.is_registered(Transfer) else None


def _currency() -> str:
    from django.conf import settings

    return str(settings.STORE_CURRENCY)
