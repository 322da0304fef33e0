from django.db.models import Prefetch, QuerySet, Sum

from orders.models import Order, OrderLine, OrderReturn, OrderStatus

# Orders whose units are committed at their location: placed, not yet fulfilled or cancelled.
OPEN_STATUSES = (OrderStatus.PLACED, OrderStatus.PAID)


def order_cancel_restock(order: Order) -> list[tuple[OrderLine, int]]:
    """What cancelling ``order`` puts back on the shelf: each line's units not returned yet.
    The cancel restocks exactly this; the admin shows it before asking."""
    return [
        (line, line.quantity - line.returned_quantity)
        for line in order.lines.all()
        if line.quantity > line.returned_quantity
    ]


def order_list() -> QuerySet[Order]:
    """Orders, newest first, each with its location and its lines in ``ordered_lines`` (two
    queries for any page). An order just placed carries them the same way
    (``services.order_place``)."""
    lines = Prefetch("lines", queryset=OrderLine.objects.order_by("id"), to_attr="ordered_lines")
    # django-stubs sees to_attr as a new attribute; Order declares it (not a field).
    return (
        Order.objects.select_related("location")  # type: ignore[no-redef]
        .prefetch_related(lines)
        .order_by("-id")
    )


def order_return_get(*, return_id: int) -> OrderReturn:
    return OrderReturn.objects.prefetch_related("lines__line").get(pk=return_id)


def order_open_committed() -> dict[tuple[int, int], int]:
    """The units open orders hold committed, by (variant id, location id), in one query: what
    the stock levels' committed units must be (``stock.reconcile``; registered in
    ``OrdersConfig.ready``). Open orders have no returns, so each line holds its quantity."""
    rows = (
        OrderLine.objects.filter(order__status__in=OPEN_STATUSES)
        .order_by()
        .values("variant_id", "order__location_id")
        .annotate(units=Sum("quantity"))
        .values_list("variant_id", "order__location_id", "units")
    )
    return {(variant_id, location_id): units for variant_id, location_id, units in rows}
