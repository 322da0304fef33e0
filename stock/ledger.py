"""The ledger's writer: stock levels, their variants' totals and the movements that explain them,
written together.

Only the stock service calls it, under the locks it took (``stock.services.stock_lock``): every
change of a level locks the level's variant first, so the levels read here are current, each
movement's ``quantity_after`` and ``committed_after`` follow from them, and a level that does
not exist yet cannot be created twice.
"""

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import connection, models
from django.utils import timezone

from catalog.models import Variant
from catalog.versions import catalog_changed
from core.actors import Actor
from events.services import emit_many
from stock.events import before_change, level_emissions
from stock.models import (
    ACTOR_MAX_LENGTH,
    NOTE_MAX_LENGTH,
    REFERENCE_MAX_LENGTH,
    Location,
    StockLevel,
    StockMovement,
)


@dataclass(frozen=True, slots=True)
class StockChange:
    """A signed change of one variant's units on hand (``delta``), units committed to open
    orders (``committed``) and units in transit to it (``incoming``) at one location."""

    variant_id: int
    delta: int
    committed: int = 0
    incoming: int = 0


def stock_levels(variant_ids: Collection[int], location: Location) -> dict[int, StockLevel]:
    """The variants' levels at ``location``, by variant id; a variant with none there yet gets
    an empty, unsaved one (``write_changes`` creates it). The caller holds the variants' locks."""
    found = {
        level.variant_id: level
        for level in StockLevel.objects.filter(variant_id__in=variant_ids, location=location)
    }
    return {
        variant_id: found.get(variant_id) or StockLevel(variant_id=variant_id, location=location)
        for variant_id in variant_ids
    }


def write_changes(
    variants: Mapping[int, Variant],
    levels: Mapping[int, StockLevel],
    changes: Sequence[StockChange],
    *,
    location: Location,
    reason: str,
    actor: Actor,
    note: str,
    reference: str,
) -> list[StockMovement]:
    """Change the levels at ``location`` and their variants' totals, and append a movement per
    change: one statement per table however many variants change. The caller holds the
    variants' locks (``stock_lock``) and read ``levels`` under them (``stock_levels``).
    The events of the change (``stock.events``) are recorded with it."""
    now = timezone.now()
    ordered = sorted(changes, key=lambda c: c.variant_id)
    before = {
        c.variant_id: before_change(variants[c.variant_id], levels[c.variant_id]) for c in ordered
    }
    movements = []
    for change in ordered:
        level = levels[change.variant_id]
        movements.append(
            stock_movement(
                variants[change.variant_id],
                location=location,
                delta=change.delta,
                quantity_after=level.on_hand + change.delta,
                committed_delta=change.committed,
                committed_after=level.committed + change.committed,
                incoming_delta=change.incoming,
                incoming_after=level.incoming + change.incoming,
                reason=reason,
                actor=actor,
                note=note,
                reference=reference,
                at=now,
            )
        )
    new_levels = [levels[c.variant_id] for c in ordered if levels[c.variant_id].pk is None]
    for change in ordered:
        level, variant = levels[change.variant_id], variants[change.variant_id]
        level.on_hand += change.delta
        level.committed += change.committed
        level.incoming += change.incoming
        level.updated_at = now
        variant.quantity += change.delta - change.committed
        variant.committed += change.committed
        variant.updated_at = now
    # Relative to each row (which the locks keep as read), in one UPDATE per table.
    _add(
        StockLevel,
        {
            levels[c.variant_id].pk: {
                "on_hand": c.delta,
                "committed": c.committed,
                "incoming": c.incoming,
            }
            for c in ordered
            if levels[c.variant_id].pk is not None
        },
        at=now,
    )
    StockLevel.objects.bulk_create(new_levels)
    catalog_changed()  # the UPDATE sends no signal
    _add(
        Variant,
        {
            c.variant_id: {"quantity": c.delta - c.committed, "committed": c.committed}
            for c in ordered
        },
        at=now,
    )
    written = StockMovement.objects.bulk_create(movements)
    emit_many(level_emissions(variants, levels, before, written, location=location))
    return written


def _add(
    model: type[models.Model], deltas: Mapping[int, Mapping[str, int]], *, at: datetime
) -> None:
    """``column = column + delta`` for every row and column, in one UPDATE (per few thousand
    rows), leaving out the columns no row changes:

        UPDATE t SET on_hand = on_hand + CASE id WHEN 7 THEN -2 WHEN 9 THEN 5 END, ...
        WHERE id IN (7, 9)

    Written by hand because Django's ``bulk_update`` builds a ``Case(When(...))`` expression
    per row in Python, about 0.6 ms each: a 50,000-row import spent most of its time there."""
    columns = sorted({column for row in deltas.values() for column, delta in row.items() if delta})
    if not columns:
        return
    quote = connection.ops.quote_name
    table, updated_at, pk = quote(model._meta.db_table), quote("updated_at"), quote("id")
    rows = sorted(deltas.items())
    # Two parameters per row and column (the id, the delta), the id once more for the WHERE:
    # within the database's limit.
    limit = connection.features.max_query_params or 30_000
    chunk = max(1, (limit - 1) // (2 * len(columns) + 1))
    with connection.cursor() as cursor:
        for start in range(0, len(rows), chunk):
            part = rows[start : start + chunk]
            whens = " ".join(["WHEN %s THEN %s"] * len(part))
            sets = ", ".join(f"{quote(c)} = {quote(c)} + CASE {pk} {whens} END" for c in columns)
            ids = ", ".join(["%s"] * len(part))
            cursor.execute(
                f"UPDATE {table} SET {sets}, {updated_at} = %s WHERE {pk} IN ({ids})",  # noqa: S608 - names quoted, values bound
                [
                    *(
                        value
                        for c in columns
                        for pk_, row in part
                        for value in (pk_, row.get(c, 0))
                    ),
                    at,
                    *(pk_ for pk_, _ in part),
                ],
            )


def stock_movement(
    variant: Variant,
    *,
    location: Location,
    delta: int,
    quantity_after: int,
    reason: str,
    actor: Actor,
    committed_delta: int = 0,
    committed_after: int = 0,
    incoming_delta: int = 0,
    incoming_after: int = 0,
    note: str = "",
    reference: str = "",
    at: datetime | None = None,
) -> StockMovement:
    """One ledger row, not yet saved, for a change the caller makes to ``variant``'s level at
    ``location`` under its lock (callers insert them in bulk)."""
    note, reference = note.strip(), reference.strip()
    if len(note) > NOTE_MAX_LENGTH:
        raise ValidationError({"note": f"At most {NOTE_MAX_LENGTH} characters."})
    if len(reference) > REFERENCE_MAX_LENGTH:
        raise ValidationError({"reference": f"At most {REFERENCE_MAX_LENGTH} characters."})
    return StockMovement(
        variant=variant,
        product_id=variant.product_id,
        location=location,
        delta=delta,
        quantity_after=quantity_after,
        committed_delta=committed_delta,
        committed_after=committed_after,
        incoming_delta=incoming_delta,
        incoming_after=incoming_after,
        reason=reason,
        actor_kind=actor.kind,
        actor=actor.name[:ACTOR_MAX_LENGTH],
        user_id=actor.user_id,
        api_key_id=actor.api_key_id,
        note=note,
        reference=reference,
        created_at=at or timezone.now(),
    )
