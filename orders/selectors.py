from django.db.models import Prefetch, QuerySet

from orders.models import Order, OrderLine, OrderReturn


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
