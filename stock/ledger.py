"""The ledger's writer: a variant's quantity and its movement, written together.

Only the stock service calls it, under the locks it took (``stock.services.stock_lock``): the
quantities here are relative to the locked rows, and each movement's ``quantity_after``
follows from the locked quantity.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone

from catalog.models import Variant
from catalog.versions import catalog_changed
from core.actors import Actor
from stock.models import ACTOR_MAX_LENGTH, NOTE_MAX_LENGTH, REFERENCE_MAX_LENGTH, StockMovement


@dataclass(frozen=True, slots=True)
class StockChange:
    """A signed change of one variant's quantity."""

    variant_id: int
    delta: int


def write_changes(
    variants: Mapping[int, Variant],
    changes: Sequence[StockChange],
    *,
    reason: str,
    actor: Actor,
    note: str,
    reference: str,
) -> list[StockMovement]:
    """Change the locked variants' quantities and append their movements: one UPDATE and one
    INSERT however many variants change. The caller holds the variants' locks (stock_lock)."""
    now = timezone.now()
    ordered = sorted(changes, key=lambda c: c.variant_id)
    movements = [
        stock_movement(
            variants[change.variant_id],
            delta=change.delta,
            quantity_after=variants[change.variant_id].quantity + change.delta,
            reason=reason,
            actor=actor,
            note=note,
            reference=reference,
            at=now,
        )
        for change in ordered
    ]
    # Relative to each row; quantity_after above comes from the locked row, which is why every
    # change locks first.
    _add_to_quantities(ordered, at=now)
    for change, movement in zip(ordered, movements, strict=True):
        variant = variants[change.variant_id]
        variant.quantity = movement.quantity_after
        variant.updated_at = now
    return StockMovement.objects.bulk_create(movements)


def _add_to_quantities(changes: Sequence[StockChange], *, at: datetime) -> None:
    """``quantity = quantity + delta`` for every change, in one UPDATE (per few thousand rows):

        UPDATE variant SET quantity = quantity + CASE id WHEN 7 THEN -2 WHEN 9 THEN 5 END, ...
        WHERE id IN (7, 9)

    Written by hand because Django's ``bulk_update`` builds a ``Case(When(...))`` expression
    per row in Python, about 0.6 ms each: a 50,000-row import spent most of its time there."""
    quote = connection.ops.quote_name
    table, quantity, updated_at, pk = (
        quote(Variant._meta.db_table),
        quote("quantity"),
        quote("updated_at"),
        quote("id"),
    )
    # Three parameters per row (the id twice, the delta), within the database's limit.
    catalog_changed()  # the UPDATE sends no signal
    limit = connection.features.max_query_params or 30_000
    chunk = max(1, (limit - 1) // 3)
    with connection.cursor() as cursor:
        for start in range(0, len(changes), chunk):
            part = changes[start : start + chunk]
            cases = " ".join(["WHEN %s THEN %s"] * len(part))
            ids = ", ".join(["%s"] * len(part))
            cursor.execute(
                f"UPDATE {table} SET {quantity} = {quantity} + CASE {pk} {cases} END, "  # noqa: S608 - names quoted, values bound
                f"{updated_at} = %s WHERE {pk} IN ({ids})",
                [
                    *(value for change in part for value in (change.variant_id, change.delta)),
                    at,
                    *(change.variant_id for change in part),
                ],
            )


def stock_movement(
    variant: Variant,
    *,
    delta: int,
    quantity_after: int,
    reason: str,
    actor: Actor,
    note: str = "",
    reference: str = "",
    at: datetime | None = None,
) -> StockMovement:
    """One ledger row, not yet saved, for a change the caller makes to ``variant`` under its
    lock (callers insert them in bulk)."""
    note, reference = note.strip(), reference.strip()
    if len(note) > NOTE_MAX_LENGTH:
        raise ValidationError({"note": f"At most {NOTE_MAX_LENGTH} characters."})
    if len(reference) > REFERENCE_MAX_LENGTH:
        raise ValidationError({"reference": f"At most {REFERENCE_MAX_LENGTH} characters."})
    return StockMovement(
        variant=variant,
        product_id=variant.product_id,
        delta=delta,
        quantity_after=quantity_after,
        reason=reason,
        actor_kind=actor.kind,
        actor=actor.name[:ACTOR_MAX_LENGTH],
        user_id=actor.user_id,
        api_key_id=actor.api_key_id,
        note=note,
        reference=reference,
        created_at=at or timezone.now(),
    )
