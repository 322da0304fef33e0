"""Receiving a delivery: several variants at once, each with a quantity and a reason, applied all
or nothing (the admin's "Receive stock" action calls it; a command or the API could too)."""

from collections.abc import Sequence
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction

from catalog.validators import MAX_QUANTITY
from core.actors import Actor
from stock import services as stock_services
from stock.ledger import StockChange
from stock.models import Location, MovementReason, StockMovement

# What a delivery may give as its reason: stock coming in, or a correction upwards.
RECEIVE_REASONS = (MovementReason.RECEIVED, MovementReason.RETURNED, MovementReason.CORRECTION)
RECEIVE_NOTE = "Delivery"


@dataclass(frozen=True, slots=True)
class ReceiveLine:
    variant_id: int
    quantity: int
    reason: str = MovementReason.RECEIVED


@dataclass(frozen=True, slots=True)
class ReceiveResult:
    """The movements written, in key order within each reason."""

    movements: tuple[StockMovement, ...]

    @property
    def variant_count(self) -> int:
        return len(self.movements)

    @property
    def units(self) -> int:
        return sum(movement.delta for movement in self.movements)


def stock_receive(
    lines: Sequence[ReceiveLine],
    *,
    actor: Actor,
    location: Location | None = None,
    note: str = RECEIVE_NOTE,
    reference: str = "",
) -> ReceiveResult:
    """Add each line's quantity to its variant's units on hand at ``location`` (the default one
    unless given), one movement per line with the line's reason.

    Bad input (no lines, a quantity that is not positive, a reason that does not add stock, a
    variant named twice, a variant that does not exist) raises ``ValidationError`` and changes
    nothing; so does a quantity that would go over the ceiling.
    """
    _check_lines(lines)
    by_reason: dict[str, list[StockChange]] = {}
    for line in lines:
        by_reason.setdefault(line.reason, []).append(
            StockChange(variant_id=line.variant_id, delta=line.quantity)
        )
    ids = [line.variant_id for line in lines]
    movements: list[StockMovement] = []
    with transaction.atomic():
        # Every row locked at once, in key order (one call per reason would lock in reason
        # order, and could deadlock with an order taking the same variants).
        missing = sorted(set(ids) - set(stock_services.stock_lock(ids=ids)))
        if missing:
            raise ValidationError(
                "No variant with id %(ids)s; nothing was received.",
                code="unknown_variant",
                params={"ids": ", ".join(map(str, missing))},
            )
        for reason, changes in by_reason.items():
            movements += stock_services.stock_apply(
                changes=changes,
                reason=reason,
                actor=actor,
                location=location,
                note=note,
                reference=reference,
            )
    return ReceiveResult(movements=tuple(movements))


def _check_lines(lines: Sequence[ReceiveLine]) -> None:
    if not lines:
        raise ValidationError("A delivery needs at least one line.", code="empty")
    seen: set[int] = set()
    for line in lines:
        if not 0 < line.quantity <= MAX_QUANTITY:
            raise ValidationError(
                "Variant %(id)s: a received quantity is from 1 to %(max)s.",
                code="invalid_quantity",
                params={"id": line.variant_id, "max": MAX_QUANTITY},
            )
        if line.reason not in RECEIVE_REASONS:
            raise ValidationError(
                "Variant %(id)s: a delivery's reason is one of %(reasons)s.",
                code="invalid_reason",
                params={"id": line.variant_id, "reasons": ", ".join(RECEIVE_REASONS)},
            )
        if line.variant_id in seen:
            raise ValidationError(
                "Variant %(id)s is in the delivery more than once.",
                code="duplicate_variant",
                params={"id": line.variant_id},
            )
        seen.add(line.variant_id)
