import datetime
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Count, DecimalField, IntegerField, Prefetch, QuerySet, Sum, Value
from django.db.models.functions import TruncDate
from django.utils import timezone

from orders.models import Order, OrderLine, OrderReturn, OrderStatus


def order_cancel_restock(order: Order) -> list[tuple[OrderLine, int]]:
    """What cancelling ``order`` puts back on the shelf: each line's units not returned yet.
    The cancel restocks exactly this; the admin shows it before asking."""
    return [
        (line, line.quantity - line.returned_quantity)
        for line in order.lines.all()
        if line.quantity > line.returned_quantity
    ]


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


# Sums of money over a day or a whole report: wider than any one order.
MONEY: "DecimalField[Decimal, Decimal]" = DecimalField(max_digits=16, decimal_places=2)
NO_MONEY = Decimal("0.00")


@dataclass(frozen=True, slots=True, kw_only=True)
class SalesFigures:
    """What a day (or a range of days) of the sales report adds up to.

    Each sale and each refund counts on the day its event happened, in the store's time zone,
    so a day's sales figures never change once the day is over:

    - ``orders``, ``units``, ``gross``: orders paid that day (``paid_at``), at their lines' prices.
      A paid order stays a sale even if it is cancelled later.
    - ``refunds``: returns recorded that day (their refund), and paid orders cancelled that day
      (their whole total: cancelling a paid order gives the money back).
    - ``net``: ``gross - refunds``; negative on a day that refunded more than it sold.
    - ``unpaid_*``: orders placed that day (``created_at``) that are still unpaid now. Not
      sales: these are the only figures that change later, as those orders are paid (and then
      count as sales on the day of payment) or cancelled.
    """

    orders: int = 0
    units: int = 0
    gross: Decimal = NO_MONEY
    refunds: Decimal = NO_MONEY
    unpaid_orders: int = 0
    unpaid_units: int = 0
    unpaid_value: Decimal = NO_MONEY

    @property
    def net(self) -> Decimal:
        return self.gross - self.refunds


@dataclass(frozen=True, slots=True, kw_only=True)
class SalesDay(SalesFigures):
    date: datetime.date


_COUNTS = ("orders", "units", "unpaid_orders", "unpaid_units")
_AMOUNTS = ("gross", "refunds", "unpaid_value")


def sales_by_day(*, date_from: datetime.date, date_to: datetime.date) -> list[SalesDay]:
    """The sales report (see ``SalesFigures``) per day from ``date_from`` to ``date_to``
    inclusive, in the store's time zone, every day present, zeros included.

    One query whatever the range: four aggregates by day, each over the events of one kind
    (payments, cancellations of paid orders, returns, unpaid orders), in one ``UNION ALL``.
    Each part fills its own columns and zeros the others, so a day's figures are the sums of
    its rows.
    """
    zone = timezone.get_current_timezone()
    start = datetime.datetime.combine(date_from, datetime.time.min, tzinfo=zone)
    end = datetime.datetime.combine(
        date_to + datetime.timedelta(days=1), datetime.time.min, tzinfo=zone
    )

    def per_day(queryset: QuerySet[Any], stamp: str, **figures: Any) -> QuerySet[Any]:
        """``queryset`` within the range by ``stamp``, as one row per day of the given figures
        and zeros for the rest, in the same column order for every part of the union."""
        zeros = {name: Value(0, output_field=IntegerField()) for name in _COUNTS} | {
            name: Value(NO_MONEY, output_field=MONEY) for name in _AMOUNTS
        }
        rows: QuerySet[Any] = (
            queryset.filter(**{f"{stamp}__gte": start, f"{stamp}__lt": end})
            .annotate(day=TruncDate(stamp, tzinfo=zone))
            .values("day")
            .annotate(**(zeros | figures))
            .order_by()
        )
        return rows

    payments = per_day(
        Order.objects.all(),
        "paid_at",
        orders=Count("id", distinct=True),
        units=Sum("lines__quantity"),
        gross=Sum("lines__line_total"),
    )
    # Only orders that were paid: returns need a fulfilled order, which cannot be cancelled, so
    # a cancelled order never had a return and its refund is its whole total.
    cancellations = per_day(
        Order.objects.filter(status=OrderStatus.CANCELLED, paid_at__isnull=False),
        "cancelled_at",
        refunds=Sum("lines__line_total"),
    )
    returns = per_day(OrderReturn.objects.all(), "created_at", refunds=Sum("refund_total"))
    unpaid = per_day(
        Order.objects.filter(status=OrderStatus.PLACED),
        "created_at",
        unpaid_orders=Count("id", distinct=True),
        unpaid_units=Sum("lines__quantity"),
        unpaid_value=Sum("lines__line_total"),
    )

    totals: dict[datetime.date, dict[str, Any]] = {}
    for row in payments.union(cancellations, returns, unpaid, all=True):
        day = totals.setdefault(
            row["day"], dict.fromkeys(_COUNTS, 0) | dict.fromkeys(_AMOUNTS, NO_MONEY)
        )
        for name in (*_COUNTS, *_AMOUNTS):
            day[name] += row[name] or 0
    days = []
    for offset in range((date_to - date_from).days + 1):
        date = date_from + datetime.timedelta(days=offset)
        days.append(SalesDay(date=date, **totals.get(date, {})))
    return days


def sales_sum(days: Iterable[SalesFigures]) -> SalesFigures:
    """The figures of several days added up (``net`` then adds up too)."""
    days = list(days)
    figures: dict[str, Any] = {name: sum(getattr(day, name) for day in days) for name in _COUNTS}
    for name in _AMOUNTS:
        figures[name] = sum((getattr(day, name) for day in days), NO_MONEY)
    return SalesFigures(**figures)
