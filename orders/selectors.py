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
