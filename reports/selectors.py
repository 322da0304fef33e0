"""Reads for the reports: stock value over the catalog (at one location or all), sales per day
over the orders. Each is one aggregate query (or one bounded list), whatever the catalog's or
the orders' size."""

import datetime
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Count, DecimalField, F, IntegerField, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from catalog.models import Variant
from catalog.selectors import SIZE_ORDER
from catalog.validators import normalize_code
from orders.models import Order, OrderReturn, OrderStatus
from stock.models import Location, StockLevel, StockMovement, Transfer, TransferStatus
from stock.selectors import location_list, low_stock_levels, stock_movement_list

# Sums of money over a whole store's stock, a day or a whole report: wider than any one order.
MONEY: "DecimalField[Decimal, Decimal]" = DecimalField(max_digits=16, decimal_places=2)
NO_MONEY = Decimal("0.00")


def location_for_report(code: str) -> Location:
    """The location with ``code`` (in any case), archived ones too (their history is theirs);
    a code that names none is a ``ValidationError`` on ``location``."""
    location = location_list().filter(code=normalize_code(code)).first()
    if location is None:
        raise ValidationError({"location": f"No location with code {normalize_code(code)!r}."})
    return location


def stock_value_by(field: str, *, location: Location | None = None) -> list[dict[str, Any]]:
    """Units on hand and their value at today's prices, at ``location`` or over every one,
    grouped by the product's ``field`` (``category`` or ``collection``), largest value first;
    ``variants`` counts every variant of the group, stocked there or not. One aggregate query.

    The units are those on hand, committed ones included: until an order is fulfilled its
    units are still the store's goods on its shelves (they leave at fulfilment), so they are
    in the stock's value; what is available to sell is a question for the catalog, not of
    what the stock is worth."""
    if field not in ("category", "collection"):
        raise ValueError(f"cannot group stock by {field!r}")
    there = None if location is None else Q(stock_levels__location=location)
    rows = (
        # Each variant joined to its levels (to none: one row of NULLs, summed as nothing).
        Variant.objects.values(group=F(f"product__{field}"))
        .annotate(
            units=Coalesce(Sum("stock_levels__on_hand", filter=there), 0),
            value=Coalesce(
                Sum(
                    F("stock_levels__on_hand") * F("product__price"),
                    filter=there,
                    output_field=MONEY,
                ),
                Value(Decimal("0.00")),
                output_field=MONEY,
            ),
            variants=Count("id", distinct=True),
        )
        .order_by("-value", "group")
    )
    return list(rows)


def stock_by_location() -> list[dict[str, Any]]:
    """Each active location, by code: its units on hand (committed ones included, as in
    ``stock_value_by``), committed and incoming, and the value of those on hand at today's
    prices. One aggregate query."""
    levels = "stock_levels__"
    return list(
        Location.objects.filter(is_active=True)
        .values("code", "name")
        .annotate(
            units=Coalesce(Sum(f"{levels}on_hand"), 0),
            committed=Coalesce(Sum(f"{levels}committed"), 0),
            incoming=Coalesce(Sum(f"{levels}incoming"), 0),
            value=Coalesce(
                Sum(
                    F(f"{levels}on_hand") * F(f"{levels}variant__product__price"),
                    output_field=MONEY,
                ),
                Value(NO_MONEY),
                output_field=MONEY,
            ),
        )
        .order_by("code")
    )


OPEN_TRANSFER_STATUSES = (TransferStatus.DRAFT, TransferStatus.IN_TRANSIT)


def open_transfers(*, location: Location | None = None, limit: int = 10) -> QuerySet[Transfer]:
    """Transfers drafted or on their way (from or to ``location`` if given), newest first,
    each with its ``line_count`` and ``units``. One query."""
    transfers = Transfer.objects.filter(status__in=OPEN_TRANSFER_STATUSES)
    if location is not None:
        transfers = transfers.filter(Q(from_location=location) | Q(to_location=location))
    return (
        transfers.select_related("from_location", "to_location")
        .annotate(line_count=Count("lines"), units=Coalesce(Sum("lines__quantity"), 0))
        .order_by("-id")[:limit]
    )


def low_stock_list(*, limit: int = 50) -> QuerySet[Variant]:
    """Variants at or under their threshold (sold out included) of active products, emptiest
    first: over every location (what is available in total)."""
    return (
        Variant.objects.filter(low_stock=True, product__is_active=True)
        .select_related("product")
        .order_by("quantity", "product__name", SIZE_ORDER)[:limit]
    )


def low_stock_at(location: Location, *, limit: int = 50) -> QuerySet[StockLevel]:
    """The levels at ``location`` at or under their threshold (the level's own, else the
    variant's), emptiest first."""
    return low_stock_levels(location=location)[:limit]


def movement_latest(
    *, limit: int = 10, location: Location | None = None
) -> QuerySet[StockMovement]:
    movements = stock_movement_list().select_related("variant__product")
    if location is not None:
        movements = movements.filter(location=location)
    return movements[:limit]


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
