"""The JSON of an order, defined once: every answer that shows one goes through ``order``.
``OrderOutputSerializer`` hands its instances here (its declared fields only document the answer
in the schema; a test holds the two key for key), and placing an order calls it directly: the
serializer's instantiation deep-copies its fields and its lines' fields, about a sixteenth of an
order's time."""

from datetime import datetime
from typing import Any

from catalog.api.representations import money, timestamp_writer
from orders.models import Order, OrderLine


def order(placed: Order) -> dict[str, Any]:
    """An order with its lines in ``ordered_lines`` and its location: read by
    ``selectors.order_list``, or just placed (``services.order_place``)."""
    stamp = timestamp_writer()

    def optional(value: datetime | None) -> str | None:
        return None if value is None else stamp(value)

    return {
        "id": placed.pk,
        "number": placed.number,
        "status": str(placed.status),
        "location": placed.location.code,
        "lines": [order_line(line) for line in placed.ordered_lines],
        "total": money(placed.total),
        "currency": placed.currency,
        "customer_reference": placed.customer_reference,
        "note": placed.note,
        "created_at": stamp(placed.created_at),
        "paid_at": optional(placed.paid_at),
        "fulfilled_at": optional(placed.fulfilled_at),
        "cancelled_at": optional(placed.cancelled_at),
    }


def order_line(line: OrderLine) -> dict[str, Any]:
    return {
        "id": line.pk,
        "variant": line.variant_id,
        "sku": line.sku,
        "product_name": line.product_name,
        "size": str(line.size),
        "quantity": line.quantity,
        "unit_price": money(line.unit_price),
        "line_total": money(line.line_total),
        "returned_quantity": line.returned_quantity,
    }
