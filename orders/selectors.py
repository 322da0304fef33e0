import datetime
from decimal import Decimal
from typing import Any

from django.db.models import Count, Prefetch, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from orders.models import Order, OrderLine, OrderReturn, OrderStatus


def order_list() -> QuerySet[Order]:
    """Orders, newest first, with their lines (two queries for any page)."""
    return Order.objects.prefetch_related(
        Prefetch("lines", queryset=OrderLine.objects.order_by("id"))
    ).order_by("-id")


def with_lines(order: Order, lines: list[OrderLine]) -> Order:
    """Give an order its lines as ``order_list()``'s prefetch does, from rows already in memory
    (those of an order just placed), so that reading ``order.lines.all()`` costs no query."""
    lines_queryset = order.lines.order_by("id")
    # What Django's prefetch_related stores for a relation it has fetched.
    lines_queryset._result_cache = sorted(lines, key=lambda line: line.pk)
    lines_queryset._prefetch_done = True  # type: ignore[attr-defined]
    order._prefetched_objects_cache = {"lines": lines_queryset}  # type: ignore[attr-defined]
    return order


def order_return_get(*, return_id: int) -> OrderReturn:
    return OrderReturn.objects.prefetch_related("lines__line").get(pk=return_id)


def sales_by_day(*, date_from: datetime.date, date_to: datetime.date) -> list[dict[str, Any]]:
    """Orders, units and revenue per day (the store's time zone) from ``date_from`` to
    ``date_to`` inclusive, every day present, zeros included. Cancelled orders did not sell.
    One aggregate query over the orders' (status, created_at) index."""
    zone = timezone.get_current_timezone()
    start = datetime.datetime.combine(date_from, datetime.time.min, tzinfo=zone)
    end = datetime.datetime.combine(
        date_to + datetime.timedelta(days=1), datetime.time.min, tzinfo=zone
    )
    rows = (
        Order.objects.filter(created_at__gte=start, created_at__lt=end)
        .exclude(status=OrderStatus.CANCELLED)
        .annotate(day=TruncDate("created_at", tzinfo=zone))
        .values("day")
        .annotate(
            orders=Count("id", distinct=True),
            units=Sum("lines__quantity"),
            revenue=Sum("lines__line_total"),
        )
        .order_by("day")
    )
    by_day = {row["day"]: row for row in rows}
    days = []
    for offset in range((date_to - date_from).days + 1):
        day = date_from + datetime.timedelta(days=offset)
        row = by_day.get(day, {})
        days.append(
            {
                "date": day,
                "orders": row.get("orders", 0),
                "units": row.get("units") or 0,
                "revenue": row.get("revenue") or Decimal("0.00"),
            }
        )
    return days
