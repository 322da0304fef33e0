"""Writes to orders. Stock is taken and given back only through the stock service,
in the order's transaction, so an order and its stock movements commit together or not at all."""

import logging
import secrets
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from catalog.models import Variant
from core.actors import Actor
from core.exceptions import ApplicationError
from core.testing import pause_point
from events.services import Emission, emit, emit_many
from orders.exceptions import InvalidTransition
from orders.models import Order, OrderLine, OrderReturn, OrderReturnLine, OrderStatus
from orders.selectors import order_cancel_restock
from stock.exceptions import InvalidSaleLines
from stock.ledger import StockChange
from stock.models import Location, MovementReason
from stock.services import stock_apply, stock_sell

logger = logging.getLogger(__name__)

MAX_LINES = 50
# The largest amount an order's total (and so any line's) can hold: 12 digits, 2 of them cents.
MAX_ORDER_TOTAL = Decimal("9999999999.99")

# action: (the statuses it may start from, the status it leads to, the timestamp it sets)
TRANSITIONS: dict[str, tuple[frozenset[str], str, str]] = {
    "pay": (frozenset({OrderStatus.PLACED}), OrderStatus.PAID, "paid_at"),
    "fulfil": (frozenset({OrderStatus.PAID}), OrderStatus.FULFILLED, "fulfilled_at"),
    "cancel": (
        frozenset({OrderStatus.PLACED, OrderStatus.PAID}),
        OrderStatus.CANCELLED,
        "cancelled_at",
    ),
}

# Order numbers: "SO-" and 10 characters of Crockford's base32 (no I, L, O, U to misread):
# 50 random bits, so numbers are unguessable and a clash is rare enough to just draw again.
_NUMBER_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_NUMBER_ATTEMPTS = 3


class InvalidOrderLines(InvalidSaleLines):
    """Field errors of an order's lines, one entry per line (DRF's nested shape): the order's
    own rules (how many lines, the total, what a return may take back), besides the sale's."""


@dataclass(frozen=True, slots=True)
class LineRequest:
    """A line as a client asks for it: a variant by id or by SKU, and a quantity."""

    quantity: int
    variant_id: int | None = None
    sku: str | None = None


@dataclass(frozen=True, slots=True)
class ReturnRequest:
    line_id: int
    quantity: int


def order_place(
    *,
    lines: Sequence[LineRequest],
    actor: Actor,
    location: Location | None = None,
    fulfil: bool = False,
    customer_reference: str = "",
    note: str = "",
) -> Order:
    """Place an order at a location (the default one unless given): price every line from the
    catalog, commit all the units there or none. With ``fulfil`` (a till sale) the order is
    paid and fulfilled at once and its units taken off the shelf.

    A constant number of queries whatever the number of lines (and however many locations
    there are): one to find the variants and lock their rows, one insert each for the order
    and its lines, and the stock service's reads and writes of the levels at that location.
    Raises ``InvalidOrderLines`` (400) for lines that name no sellable variant, and
    ``InsufficientStock`` (409) naming the location and every short line.
    """
    # The number is drawn before the transaction; on the rare clash the whole placement is
    # done again under another. A savepoint around the order's INSERT alone would cost every
    # order two round trips more, for a clash that comes once in many billions.
    for _ in range(_NUMBER_ATTEMPTS):
        number = "SO-" + "".join(secrets.choice(_NUMBER_ALPHABET) for _ in range(10))
        try:
            return _order_place(
                number=number,
                lines=lines,
                actor=actor,
                location=location,
                fulfil=fulfil,
                customer_reference=customer_reference,
                note=note,
            )
        except IntegrityError:
            if Order.objects.filter(number=number).exists():
                continue
            raise
    raise IntegrityError("Could not draw a free order number.")


@transaction.atomic
def _order_place(
    *,
    number: str,
    lines: Sequence[LineRequest],
    actor: Actor,
    location: Location | None,
    fulfil: bool,
    customer_reference: str,
    note: str,
) -> Order:
    if actor.api_key_id is None and actor.user_id is None:
        raise ValueError("An order is placed by a client app or a staff user.")
    if not lines:
        raise InvalidOrderLines(details={"lines": ["An order needs at least one line."]})
    if len(lines) > MAX_LINES:
        raise InvalidOrderLines(details={"lines": [f"An order has at most {MAX_LINES} lines."]})
    placed: list[tuple[Order, list[OrderLine]]] = []

    def record_order(variants: list[Variant], location: Location) -> str:
        """The order and its lines, priced from the variants the stock service found and
        locked; the stock it then takes carries the order's number."""
        line_totals = [
            line.quantity * variant.product.price
            for line, variant in zip(lines, variants, strict=True)
        ]
        total = sum(line_totals, start=Decimal("0.00"))
        if total > MAX_ORDER_TOTAL:
            raise InvalidOrderLines(
                details={
                    "lines": [f"The order's total ({total}) exceeds {MAX_ORDER_TOTAL}; split it."]
                }
            )
        now = timezone.now()
        order = Order.objects.create(
            number=number,
            status=OrderStatus.FULFILLED if fulfil else OrderStatus.PLACED,
            paid_at=now if fulfil else None,
            fulfilled_at=now if fulfil else None,
            location=location,
            currency=settings.STORE_CURRENCY,
            total=total,
            customer_reference=customer_reference.strip(),
            note=note.strip(),
            api_key_id=actor.api_key_id,
            user_id=actor.user_id,
            placed_by=actor.name,
        )
        order_lines = OrderLine.objects.bulk_create(
            OrderLine(
                order=order,
                variant=variant,
                sku=variant.sku,
                product_name=variant.product.name,
                size=variant.size,
                quantity=line.quantity,
                unit_price=variant.product.price,
            )
            for line, variant in zip(lines, variants, strict=True)
        )
        placed.append((order, order_lines))
        return order.number

    stock_sell(
        lines=lines,
        actor=actor,
        record_sale=record_order,
        location=location,
        fulfil=fulfil,
    )
    [(order, order_lines)] = placed
    # Its lines as ``selectors.order_list()`` gives them (Prefetch's to_attr), from the rows
    # just written: the answer needs no query to read them back.
    order.ordered_lines = sorted(order_lines, key=lambda line: line.pk)
    lines_data = [
        {"sku": line.sku, "quantity": line.quantity, "unit_price": str(line.unit_price)}
        for line in order.ordered_lines
    ]
    placed_event = Emission("order.placed", {**order_event_data(order), "lines": lines_data})
    if fulfil:
        # A till sale is paid and handed over at once: each step has its event.
        emit_many(
            [
                placed_event,
                Emission("order.paid", order_event_data(order)),
                Emission("order.fulfilled", order_event_data(order)),
            ]
        )
    else:
        emit_many([placed_event])
    # Inert outside tests: lets a test kill the worker with everything written but not committed.
    pause_point("order_place")
    return order


@transaction.atomic
def order_transition(
    *, order_id: int, action: str, actor: Actor, only_from: frozenset[str] | None = None
) -> Order:
    """Move an order along its lifecycle: ``pay``, ``fulfil`` or ``cancel``.

    The order's row is locked first and its status checked under the lock, so of two racing
    cancels one restocks and the other finds the order cancelled (409), never both.
    ``only_from`` narrows the statuses the action may start from (expiry cancels only orders
    still placed: one paid a moment ago is left alone).
    """
    sources, target, stamp = TRANSITIONS[action]
    if only_from is not None:
        sources = sources & only_from
    order = (
        Order.objects.select_for_update(of=("self",)).select_related("location").get(pk=order_id)
    )
    if order.status not in sources:
        raise InvalidTransition(
            f"A {order.status} order cannot be {target}; nothing was changed.",
            details={"status": order.status, "action": action},
        )
    if action == "cancel":
        # Releases what the order committed (a cancellable order is not fulfilled yet).
        stock_apply(
            changes=[
                StockChange(variant_id=line.variant_id, delta=0, committed=-units)
                for line, units in order_cancel_restock(order)
            ],
            location=order.location,
            reason=MovementReason.ORDER_CANCELLED,
            actor=actor,
            reference=order.number,
        )
    elif action == "fulfil":
        # Picked: the committed units leave the shelf.
        stock_apply(
            changes=[
                StockChange(
                    variant_id=line.variant_id, delta=-line.quantity, committed=-line.quantity
                )
                for line in order.lines.all()
            ],
            location=order.location,
            reason=MovementReason.SALE,
            actor=actor,
            reference=order.number,
        )
    order.status = target
    setattr(order, stamp, timezone.now())
    order.save(update_fields=["status", stamp, "updated_at"])
    emit(TRANSITION_EVENTS[action], order_event_data(order))
    return order


TRANSITION_EVENTS = {"pay": "order.paid", "fulfil": "order.fulfilled", "cancel": "order.cancelled"}


def order_event_data(order: Order) -> dict[str, object]:
    """What an order's events tell; a receiver reads the rest at /orders/{id}/."""
    return {
        "id": order.pk,
        "number": order.number,
        "status": str(order.status),
        "location": order.location.code,
        "total": str(order.total),
        "currency": order.currency,
        "customer_reference": order.customer_reference,
    }


@transaction.atomic
def order_return(
    *,
    order_id: int,
    lines: Sequence[ReturnRequest],
    actor: Actor,
    location: Location | None = None,
    note: str = "",
) -> OrderReturn:
    """Take back lines of a fulfilled order, in part or in full: restock them through the
    ledger (``returned``) on hand at the order's location, or at ``location`` (a web order
    brought back to a shop), and record the refund at the prices they were sold at. Never more
    than was sold minus what already came back (checked under the order's lock, and by a
    database constraint on each line)."""
    order = (
        Order.objects.select_for_update(of=("self",)).select_related("location").get(pk=order_id)
    )
    if order.status != OrderStatus.FULFILLED:
        raise InvalidTransition(
            f"Only a fulfilled order takes returns; this one is {order.status}.",
            details={"status": order.status, "action": "return"},
        )
    order_lines = {line.pk: line for line in order.lines.all()}
    counts = Counter(request.line_id for request in lines)
    errors: list[dict[str, list[str]]] = []
    for request in lines:
        line = order_lines.get(request.line_id)
        if line is None:
            errors.append({"line": ["This order has no such line."]})
        elif counts[request.line_id] > 1:
            errors.append({"line": ["This line is given more than once."]})
        elif line.returned_quantity == line.quantity:
            errors.append({"line": ["This line was returned in full already."]})
        elif not 0 < request.quantity <= line.quantity - line.returned_quantity:
            remaining = line.quantity - line.returned_quantity
            errors.append(
                {
                    "quantity": [
                        f"From 1 to {remaining}: sold {line.quantity}, returned {line.returned_quantity} already."
                    ]
                }
            )
        else:
            errors.append({})
    if not lines:
        raise InvalidOrderLines(details={"lines": ["Return at least one line."]})
    if any(errors):
        raise InvalidOrderLines(details={"lines": errors})

    stock_apply(
        changes=[
            StockChange(variant_id=order_lines[r.line_id].variant_id, delta=r.quantity)
            for r in lines
        ],
        location=location or order.location,
        reason=MovementReason.RETURNED,
        actor=actor,
        reference=order.number,
        note=note,
    )
    for request in lines:
        order_lines[request.line_id].returned_quantity = F("returned_quantity") + request.quantity
    OrderLine.objects.bulk_update([order_lines[r.line_id] for r in lines], ["returned_quantity"])
    refunds = [order_lines[r.line_id].unit_price * r.quantity for r in lines]
    order_return = OrderReturn.objects.create(
        order=order,
        refund_total=sum(refunds, start=Decimal("0.00")),
        note=note.strip(),
        recorded_by=actor.name,
    )
    OrderReturnLine.objects.bulk_create(
        OrderReturnLine(
            order_return=order_return, line_id=r.line_id, quantity=r.quantity, refund_amount=refund
        )
        for r, refund in zip(lines, refunds, strict=True)
    )
    emit(
        "order.returned",
        {
            **order_event_data(order),
            "return_id": order_return.pk,
            "refund_total": str(order_return.refund_total),
            "restocked_at": (location or order.location).code,
            "lines": [
                {"sku": order_lines[r.line_id].sku, "quantity": r.quantity, "refund": str(refund)}
                for r, refund in zip(lines, refunds, strict=True)
            ],
        },
    )
    return order_return


def orders_expire(*, placed_before: datetime, actor: Actor) -> list[str]:
    """Cancel the orders still unpaid since before ``placed_before``, restocking them; each in
    its own transaction, so one that is paid meanwhile is simply left alone."""
    expired = []
    candidates = Order.objects.filter(status=OrderStatus.PLACED, created_at__lt=placed_before)
    for order_id in candidates.order_by("id").values_list("id", flat=True):
        try:
            order = order_transition(
                order_id=order_id,
                action="cancel",
                actor=actor,
                only_from=frozenset({OrderStatus.PLACED}),
            )
        except InvalidTransition:
            continue  # paid (or cancelled) meanwhile
        except (ApplicationError, ValidationError):
            # One order that cannot be cancelled must not keep the others holding stock.
            logger.exception("could not expire order %s", order_id)
            continue
        expired.append(order.number)
    return expired


MAX_AGE = timedelta(days=3650)


def parse_age(text: str) -> timedelta:
    """``30m``, ``2h``, ``1d``, ``45s``: an age for ``expire_orders --older-than`` (up to ten
    years)."""
    units = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
    number, unit = text[:-1], text[-1:].lower()
    if unit not in units or not number.isdigit() or int(number) == 0:
        raise ValueError(f"{text!r} is not an age like 30m, 2h or 1d.")
    try:
        age = timedelta(**{units[unit]: int(number)})
    except OverflowError:
        age = MAX_AGE + MAX_AGE
    if age > MAX_AGE:
        raise ValueError(f"{text!r} is older than anything kept: at most {MAX_AGE.days}d.")
    return age
