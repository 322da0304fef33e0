"""The stock service: every change of a quantity, from every door (API, admin, commands,
imports, orders), goes through here.

Each change locks the variants' rows in primary-key order (``stock_lock``, the one way this
code locks them), checks every change, then writes the quantities and appends one movement per
variant, all in one transaction. One global lock order means concurrent multi-variant changes
cannot deadlock; the lock means no update is lost; the CHECK (quantity >= 0) is the last line
of defence.
"""

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Protocol

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q

from catalog.models import Variant
from catalog.validators import MAX_QUANTITY, normalize_code
from core.actors import Actor
from stock.exceptions import InsufficientStock, InvalidSaleLines, StockCountMismatch
from stock.ledger import StockChange, stock_movement, write_changes
from stock.models import (
    DECREASING_REASONS,
    INCREASING_REASONS,
    MovementReason,
    StockMovement,
)

# The reasons a caller may give directly. ``initial`` comes with a new variant, a
# ``count_correction`` from a count, ``sale`` and ``order_cancelled`` only from orders.
MANUAL_REASONS = (
    MovementReason.RECEIVED,
    MovementReason.RETURNED,
    MovementReason.DAMAGED,
    MovementReason.LOST,
    MovementReason.CORRECTION,
)
MANUAL_REASON_CHOICES = [(reason.value, reason.label) for reason in MANUAL_REASONS]


class SaleLine(Protocol):
    """A line of a sale as a client asks for it: a variant by id or by SKU, and a quantity
    (an order's ``LineRequest`` is one)."""

    @property
    def quantity(self) -> int: ...

    @property
    def variant_id(self) -> int | None: ...

    @property
    def sku(self) -> str | None: ...


def stock_reason_errors(*, reason: str, delta: int) -> dict[str, str]:
    """What is wrong with a manual change of ``delta`` for ``reason``, field by field."""
    if reason not in MANUAL_REASONS:
        return {"reason": f"Use one of: {', '.join(MANUAL_REASONS)}."}
    if delta == 0:
        return {"delta": "A change of 0 changes nothing."}
    if reason in INCREASING_REASONS and delta < 0:
        return {"delta": f"Stock {reason} adds to the quantity: the change must be positive."}
    if reason in DECREASING_REASONS and delta > 0:
        return {"delta": f"Stock {reason} takes from the quantity: the change must be negative."}
    return {}


@transaction.atomic
def stock_adjust(
    *,
    variant_id: int,
    delta: int,
    reason: str,
    actor: Actor,
    note: str = "",
    reference: str = "",
) -> StockMovement:
    """A manual change of one variant's quantity: a delivery, a damaged item, a correction."""
    errors = stock_reason_errors(reason=reason, delta=delta)
    if errors:
        raise ValidationError(errors)
    [movement] = stock_apply(
        changes=[StockChange(variant_id=variant_id, delta=delta)],
        reason=reason,
        actor=actor,
        note=note,
        reference=reference,
    )
    return movement


@transaction.atomic
def stock_count(
    *,
    variant_id: int,
    quantity: int,
    actor: Actor,
    expected_quantity: int | None = None,
    note: str = "",
) -> StockMovement:
    """Set the counted quantity, recording the difference as a ``count_correction``.

    With ``expected_quantity`` (what the quantity was when the count started), the count is
    refused if the quantity has changed since: the shelf was counted against another number.
    """
    if not 0 <= quantity <= MAX_QUANTITY:
        raise ValidationError({"quantity": f"A counted quantity is from 0 to {MAX_QUANTITY}."})
    variant = _require(stock_lock(ids=[variant_id]), [variant_id])[variant_id]
    if expected_quantity is not None and expected_quantity != variant.quantity:
        raise StockCountMismatch(
            details={"expected_quantity": expected_quantity, "quantity": variant.quantity}
        )
    [movement] = write_changes(
        {variant_id: variant},
        [StockChange(variant_id=variant_id, delta=quantity - variant.quantity)],
        reason=MovementReason.COUNT_CORRECTION,
        actor=actor,
        note=note,
        reference="",
    )
    return movement


@transaction.atomic
def stock_apply(
    *,
    changes: Sequence[StockChange],
    reason: str,
    actor: Actor,
    note: str = "",
    reference: str = "",
) -> list[StockMovement]:
    """Apply signed changes to several variants at once, all or nothing.

    If any change would take a quantity below zero, nothing changes and ``InsufficientStock``
    lists every short variant. Callers check that ``reason`` suits them (orders use ``sale``
    and ``order_cancelled``; ``stock_adjust`` allows the manual reasons only). Inside a
    caller's transaction the changes get a savepoint of their own, so that a caller may catch
    a refusal and go on.
    """
    ids = [change.variant_id for change in changes]
    if len(set(ids)) != len(ids):
        raise ValidationError("Each variant may appear once in a stock change.")
    return _take_and_give(
        _require(stock_lock(ids=ids), ids),
        changes,
        reason=reason,
        actor=actor,
        note=note,
        reference=reference,
    )


def stock_sell(
    *,
    lines: Sequence[SaleLine],
    actor: Actor,
    record_sale: Callable[[list[Variant]], str],
) -> list[StockMovement]:
    """Sell the lines' variants: find and lock them in one query, refuse any line that names
    no variant for sale, let the caller record the sale, then take the stock, all or nothing.

    ``record_sale`` gets the lines' variants (locked, with their products: names and prices)
    in the lines' order, writes the caller's own record of the sale (an order) and returns its
    reference, which every movement carries. An order crosses into stock once this way, in the
    caller's transaction: a refusal (``InvalidSaleLines`` 400, ``InsufficientStock`` 409, or
    whatever ``record_sale`` raises) leaves that transaction to be rolled back, so there is no
    savepoint of its own to pay for.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("stock_sell runs in the caller's transaction: call it in one.")
    ids = {line.variant_id for line in lines if line.variant_id is not None}
    skus = {normalize_code(line.sku) for line in lines if line.sku}
    locked = stock_lock(ids=ids, skus=skus)
    variants = _sale_variants(lines, locked)
    reference = record_sale(variants)
    return _take_and_give(
        locked,
        [
            StockChange(variant_id=variant.pk, delta=-line.quantity)
            for line, variant in zip(lines, variants, strict=True)
        ],
        reason=MovementReason.SALE,
        actor=actor,
        note="",
        reference=reference,
    )


def _sale_variants(lines: Sequence[SaleLine], locked: Mapping[int, Variant]) -> list[Variant]:
    """The variant of every line, in order, or ``InvalidSaleLines`` naming each bad line."""
    by_sku = {variant.sku: variant for variant in locked.values()}
    variants: list[Variant | None] = []
    errors: list[dict[str, list[str]]] = []
    for line in lines:
        key = "variant" if line.variant_id is not None else "sku"
        variant = (
            locked.get(line.variant_id)
            if line.variant_id is not None
            else by_sku.get(normalize_code(line.sku or ""))
        )
        variants.append(variant)
        if variant is None:
            errors.append({key: ["No such variant."]})
        elif not variant.product.is_active:
            errors.append({key: ["This product is archived and not for sale."]})
        elif not 0 < line.quantity <= MAX_QUANTITY:
            errors.append({"quantity": [f"From 1 to {MAX_QUANTITY}."]})
        else:
            errors.append({})
    seen: set[int] = set()
    for index, variant in enumerate(variants):
        if variant is None:
            continue
        if variant.pk in seen and not errors[index]:
            # The second mention on: one line per variant, with the total quantity.
            errors[index] = {"variant": ["This variant is in the order more than once."]}
        seen.add(variant.pk)
    if any(errors):
        raise InvalidSaleLines(details={"lines": errors})
    return [variant for variant in variants if variant is not None]


def _take_and_give(
    variants: Mapping[int, Variant],
    changes: Sequence[StockChange],
    *,
    reason: str,
    actor: Actor,
    note: str,
    reference: str,
) -> list[StockMovement]:
    """Check the changes against the locked variants, then write them."""
    short = [
        {
            "variant": variant.pk,
            "sku": variant.sku,
            "requested": -change.delta,
            "available": variant.quantity,
        }
        for change in changes
        if (variant := variants[change.variant_id]).quantity + change.delta < 0
    ]
    if short:
        raise InsufficientStock(details={"lines": short})
    # The ceiling guards what people type; stock coming back from orders (cancellations,
    # returns) was on the shelf before and is never refused.
    too_many = reason in MANUAL_REASONS and any(
        variants[c.variant_id].quantity + c.delta > MAX_QUANTITY for c in changes
    )
    if too_many:
        raise ValidationError({"delta": f"A quantity cannot exceed {MAX_QUANTITY}."})
    return write_changes(
        variants, changes, reason=reason, actor=actor, note=note, reference=reference
    )


def stock_lock(*, ids: Collection[int] = (), skus: Collection[str] = ()) -> dict[int, Variant]:
    """Find the variants named by id or by SKU, with their products, and lock their rows in
    primary-key order (the one lock order that rules out deadlocks between concurrent changes)
    for the rest of the caller's transaction. The one way stock locks variants: every change
    here, and a caller about to make several (a delivery of many lines), call it. Names that
    match nothing are simply not in the result."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError(
            "stock_lock holds its locks for the caller's transaction: call it in one."
        )
    found = (
        Variant.objects.select_related("product")
        .select_for_update(of=("self",))
        .filter(Q(pk__in=ids) | Q(sku__in=skus))
        .order_by("pk")
    )
    return {variant.pk: variant for variant in found}


def _require(locked: Mapping[int, Variant], ids: Sequence[int]) -> dict[int, Variant]:
    """The locked variants of ``ids``; a missing one raises ``DoesNotExist``."""
    missing = sorted(set(ids) - set(locked))
    if missing:
        raise Variant.DoesNotExist(f"No variant with id {missing[0]}.")
    return {pk: locked[pk] for pk in sorted(ids)}


def stock_open(
    variants: Iterable[Variant],
    *,
    actor: Actor,
    note: str = "",
    reference: str = "",
    at: datetime | None = None,
) -> list[StockMovement]:
    """The opening movement (``initial``) of each new variant created with a quantity, in one
    INSERT. The caller created the variants, quantity included, in its own transaction: one
    that does not commit leaves neither."""
    return StockMovement.objects.bulk_create(
        stock_movement(
            variant,
            delta=variant.quantity,
            quantity_after=variant.quantity,
            reason=MovementReason.INITIAL,
            actor=actor,
            note=note,
            reference=reference,
            at=at,
        )
        for variant in variants
        if variant.quantity > 0
    )
