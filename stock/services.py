"""The stock service: every change of a stock level, from every door (API, admin, commands,
imports, orders), goes through here.

Each change locks the variants' rows in primary-key order (``stock_lock``, the one way this
code locks them), reads their levels at the location under those locks, checks every change,
then writes the levels and the variants' totals and appends one movement per variant, all in
one transaction. Every level is changed under its variant's lock, whatever the location, so one
global lock order (variant id) rules out deadlocks between concurrent multi-variant changes,
also across locations; the lock means no update is lost; the CHECKs (``0 <= committed <=
on_hand``) are the last line of defence.

Orders commit units at placement (``order_placed``), take them off the shelf at fulfilment
(``sale``) and release them when cancelled (``order_cancelled``); a count measures the shelf,
where committed units still are.
"""

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol, cast

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Q

from catalog.models import Variant
from catalog.validators import MAX_QUANTITY, normalize_code
from catalog.versions import catalog_changed
from core.actors import Actor
from events.services import emit_many
from stock.count_selectors import count_open_at
from stock.events import level_emissions
from stock.exceptions import (
    CountSessionOpen,
    InsufficientStock,
    InvalidSaleLines,
    LocationNotAllowed,
    StockCountMismatch,
)
from stock.ledger import StockChange, stock_levels, stock_movement, write_changes
from stock.models import (
    DECREASING_REASONS,
    INCREASING_REASONS,
    Location,
    MovementReason,
    StockLevel,
    StockMovement,
)
from stock.selectors import location_default

# The reasons a caller may give directly. ``initial`` comes with a new variant, a
# ``count_correction`` from a count, ``order_placed``, ``sale`` and ``order_cancelled`` only from
# orders.
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


def _where(location: Location | None, actor: Actor) -> Location:
    """The location a change happens at: the one given, or else the default one (for a key
    bound to a single location, that location: a shop's till names none). Never an archived
    one, and for a key bound to locations (``Location.api_keys``), only one of those:
    ``LocationNotAllowed`` (403) otherwise.

    The location's row is read again with a key-share lock (PostgreSQL) that holds until the
    change commits: archiving a location locks its row for update before it sums the stock
    there (``stock.locations``), so a change that starts while an archive is under way waits
    for it and then sees the location archived, and an archive that starts later waits for the
    change and then sees its units. Without the lock, a change that read the location as
    active could write there after an archive had found it empty. One query reads the target
    (or the default), the key's own locations and locks them."""
    rows = _locations_locked(
        location_id=location.pk if location is not None else None, api_key_id=actor.api_key_id
    )
    bound = [row for row, key_bound in rows.items() if key_bound]
    if location is None and len(bound) == 1:
        found = bound[0]
    elif location is None:
        found = next((row for row in rows if row.is_default), None) or _lock(location_default())
    else:
        found = next((row for row in rows if row.pk == location.pk), None) or _lock(location)
    if not found.is_active:
        raise ValidationError({"location": f"{found.code} is archived and holds no stock."})
    if bound and found.pk not in {own.pk for own in bound}:
        own = sorted(own.code for own in bound)
        raise LocationNotAllowed(
            f"This API key acts only at {', '.join(own)}; not at {found.code}.",
            details={"location": found.code, "allowed_locations": own},
        )
    return found


def stock_location_for_change(location: Location | None, actor: Actor) -> Location:
    """The location a change by ``actor`` happens at, locked and checked as every change here
    does it (``_where``): for services of their own that move stock (transfers, counts)."""
    return _where(location, actor)


def stock_locations_lock(locations: Collection[Location]) -> dict[int, Location]:
    """``locations`` read again under the key-share lock a change holds (``_where``), with no
    check of who acts, by id: both ends of a transfer, locked in one statement in primary-key
    order, so that two transfers between the same places, or a transfer and a move of the
    default location (which locks both rows for update, also in key order), never wait for
    each other in a cycle."""
    quote = connection.ops.quote_name
    ids = sorted({location.pk for location in locations})
    marks = ", ".join(["%s"] * len(ids))
    sql = f"SELECT * FROM {quote(Location._meta.db_table)} WHERE id IN ({marks}) ORDER BY id"  # noqa: S608  # the table's name from the model
    if connection.features.has_select_for_update:
        sql += " FOR KEY SHARE"
    return {row.pk: row for row in Location.objects.raw(sql, ids)}


def _lock(location: Location) -> Location:
    """``location``, read again under a key-share lock; only when the combined read in
    ``_where`` missed it (a default made just now, in a database emptied since migrating)."""
    [locked] = _locations_locked(location_id=location.pk, api_key_id=None)
    return locked


def _locations_locked(*, location_id: int | None, api_key_id: int | None) -> dict[Location, bool]:
    """The location ``location_id`` (``None``: the default one) and those ``api_key_id`` is
    bound to, each with whether the key is bound to it, their rows under a key-share lock on
    PostgreSQL.

    Raw SQL because Django's ``select_for_update`` offers FOR UPDATE and FOR NO KEY UPDATE only:
    either would queue every change at a location behind the one before, where FOR KEY SHARE
    lets them run side by side and conflicts only with the archive's FOR UPDATE. It is the lock
    the movement's foreign key takes anyway, taken at the start instead of at the end."""
    location, bindings = Location._meta.db_table, Location.api_keys.through._meta.db_table
    quote = connection.ops.quote_name
    sql = (
        f"SELECT l.*, EXISTS (SELECT 1 FROM {quote(bindings)} b WHERE b.location_id = l.id "  # noqa: S608  # table names from the models
        f"AND b.apikey_id = %s) AS key_bound FROM {quote(location)} l "
        "WHERE (l.id = %s OR (%s AND l.is_default) OR l.id IN "
        f"(SELECT b.location_id FROM {quote(bindings)} b WHERE b.apikey_id = %s)) ORDER BY l.id"
    )
    if connection.features.has_select_for_update:
        sql += " FOR KEY SHARE OF l"
    params = [api_key_id, location_id, location_id is None, api_key_id]
    # ``key_bound`` is the query's own column, which Django sets on each row it makes.
    return {row: bool(cast(Any, row).key_bound) for row in Location.objects.raw(sql, params)}


def stock_adjust(
    *,
    variant_id: int,
    delta: int,
    reason: str,
    actor: Actor,
    location: Location | None = None,
    note: str = "",
    reference: str = "",
) -> StockMovement:
    """A manual change of one variant's units on hand at a location (the default one unless
    given): a delivery, a damaged item, a correction. It never takes units committed to open
    orders: a decrease is limited to what is available there. Atomic as ``stock_apply`` is
    (a transaction of its own here would make that one a savepoint: two round trips more)."""
    errors = stock_reason_errors(reason=reason, delta=delta)
    if errors:
        raise ValidationError(errors)
    [movement] = stock_apply(
        changes=[StockChange(variant_id=variant_id, delta=delta)],
        location=location,
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
    location: Location | None = None,
    expected_quantity: int | None = None,
    note: str = "",
) -> StockMovement:
    """Set the units on hand counted on the shelf at a location (committed units are still on
    the shelf, so they are counted too), recording the difference as a ``count_correction``.

    With ``expected_quantity`` (what was on hand there when the count started), the count is
    refused if that has changed since: the shelf was counted against another number. A count
    below the units committed there is refused too (409 ``insufficient_stock``): those orders
    need cancelling, or stock moved in, before the shelf can hold less than they need.

    Refused (409 ``conflict``) while a count session is open at the location
    (``stock.counts``): the session's line for the variant expects the units on hand when it
    was counted, and a count in between would be corrected twice. It is checked under the
    variant's lock, which entering a session's count takes too, so the two queue.
    """
    if not 0 <= quantity <= MAX_QUANTITY:
        raise ValidationError({"quantity": f"A counted quantity is from 0 to {MAX_QUANTITY}."})
    location = _where(location, actor)
    variant = _require(stock_lock(ids=[variant_id]), [variant_id])[variant_id]
    session_id = count_open_at(location)
    if session_id is not None:
        raise CountSessionOpen(
            location=location.code, session_id=session_id, doing="enter this count in it"
        )
    levels = stock_levels([variant_id], location)
    level = levels[variant_id]
    if expected_quantity is not None and expected_quantity != level.on_hand:
        raise StockCountMismatch(
            details={
                "location": location.code,
                "expected_quantity": expected_quantity,
                "quantity": level.on_hand,
            }
        )
    if quantity < level.committed:
        raise InsufficientStock(
            f"{level.committed} units at {location.code} are committed to open orders: a count "
            f"of {quantity} needs some of them cancelled first. Nothing was changed.",
            details={
                "location": location.code,
                "lines": [stock_short_line(variant, location, level, requested=level.committed)],
            },
        )
    [movement] = write_changes(
        {variant_id: variant},
        levels,
        [StockChange(variant_id=variant_id, delta=quantity - level.on_hand)],
        location=location,
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
    location: Location | None = None,
    note: str = "",
    reference: str = "",
) -> list[StockMovement]:
    """Apply signed changes to several variants' levels at one location (the default one
    unless given), all or nothing.

    If any change would take more than is available there (or release more than is
    committed), nothing changes and ``InsufficientStock`` lists every short variant. Callers
    check that ``reason`` suits them (orders use ``sale`` and ``order_cancelled``;
    ``stock_adjust`` allows the manual reasons only). Inside a caller's transaction the changes
    get a savepoint of their own, so that a caller may catch a refusal and go on.
    """
    ids = [change.variant_id for change in changes]
    if len(set(ids)) != len(ids):
        raise ValidationError("Each variant may appear once in a stock change.")
    location = _where(location, actor)
    return _take_and_give(
        _require(stock_lock(ids=ids), ids),
        changes,
        location=location,
        reason=reason,
        actor=actor,
        note=note,
        reference=reference,
    )


def stock_sell(
    *,
    lines: Sequence[SaleLine],
    actor: Actor,
    record_sale: Callable[[list[Variant], Location], str],
    location: Location | None = None,
    fulfil: bool = False,
) -> list[StockMovement]:
    """Sell the lines' variants at a location (the default one unless given): find and lock
    them in one query, refuse any line that names no variant for sale, let the caller record
    the sale, then commit the units there (``order_placed``), all or nothing: what is available
    at that location must cover every line, whatever other locations hold. With ``fulfil``
    (a till sale, handed over at once) the units are taken off the shelf instead (``sale``).

    ``record_sale`` gets the lines' variants (locked, with their products: names and prices)
    in the lines' order and the location, writes the caller's own record of the sale (an
    order) and returns its reference, which every movement carries. An order crosses into
    stock once this way, in the caller's transaction: a refusal (``InvalidSaleLines`` 400,
    ``InsufficientStock`` 409, or whatever ``record_sale`` raises) leaves that transaction to
    be rolled back, so there is no savepoint of its own to pay for.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("stock_sell runs in the caller's transaction: call it in one.")
    location = _where(location, actor)
    ids = {line.variant_id for line in lines if line.variant_id is not None}
    skus = {normalize_code(line.sku) for line in lines if line.sku}
    locked = stock_lock(ids=ids, skus=skus)
    variants = _sale_variants(lines, locked)
    reference = record_sale(variants, location)
    return _take_and_give(
        locked,
        [
            StockChange(variant_id=variant.pk, delta=-line.quantity)
            if fulfil
            else StockChange(variant_id=variant.pk, delta=0, committed=line.quantity)
            for line, variant in zip(lines, variants, strict=True)
        ],
        location=location,
        reason=MovementReason.SALE if fulfil else MovementReason.ORDER_PLACED,
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


def stock_short_line(
    variant: Variant, location: Location, level: StockLevel, *, requested: int
) -> dict[str, object]:
    """One line of an ``InsufficientStock``'s details, in the shape every refusal gives."""
    return {
        "variant": variant.pk,
        "sku": variant.sku,
        "location": location.code,
        "requested": requested,
        "available": level.available,
    }


def _take_and_give(
    variants: Mapping[int, Variant],
    changes: Sequence[StockChange],
    *,
    location: Location,
    reason: str,
    actor: Actor,
    note: str,
    reference: str,
) -> list[StockMovement]:
    """Check the changes against the variants' levels at ``location``, read under the
    variants' locks, then write them."""
    levels = stock_levels([change.variant_id for change in changes], location)
    short = []
    for change in changes:
        level = levels[change.variant_id]
        on_hand, committed = level.on_hand + change.delta, level.committed + change.committed
        if committed < 0 or on_hand < committed:
            # What the change takes from what is available (a commitment, a sale off the shelf
            # or a decrease), or, releasing more than is committed, what it releases.
            requested = change.committed - change.delta if committed >= 0 else -change.committed
            short.append(
                stock_short_line(variants[change.variant_id], location, level, requested=requested)
            )
    if short:
        raise InsufficientStock(
            f"Not enough stock at {location.code}; nothing was changed.",
            details={"location": location.code, "lines": short},
        )
    # The ceiling guards what people type; stock coming back from orders (cancellations,
    # returns) was on the shelf before and is never refused.
    too_many = reason in MANUAL_REASONS and any(
        levels[c.variant_id].on_hand + c.delta > MAX_QUANTITY for c in changes
    )
    if too_many:
        raise ValidationError({"delta": f"A quantity cannot exceed {MAX_QUANTITY}."})
    return write_changes(
        variants,
        levels,
        changes,
        location=location,
        reason=reason,
        actor=actor,
        note=note,
        reference=reference,
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
    location: Location | None = None,
    note: str = "",
    reference: str = "",
    at: datetime | None = None,
) -> list[StockMovement]:
    """The opening stock of each new variant created with a quantity: its level on hand at a
    location (the default one unless given) and its ``initial`` movement, one INSERT each.
    The caller created the variants, quantity included (their total), in its own transaction:
    one that does not commit leaves none of it."""
    opening = [variant for variant in variants if variant.quantity > 0]
    if not opening:
        return []
    location = _where(location, actor)
    levels = StockLevel.objects.bulk_create(
        StockLevel(variant=variant, location=location, on_hand=variant.quantity)
        for variant in opening
    )
    movements = StockMovement.objects.bulk_create(
        stock_movement(
            variant,
            location=location,
            delta=variant.quantity,
            quantity_after=variant.quantity,
            reason=MovementReason.INITIAL,
            actor=actor,
            note=note,
            reference=reference,
            at=at,
        )
        for variant in opening
    )
    # A level's first figures (a new variant is no crossing: ``product.created`` tells of it).
    emit_many(
        level_emissions(
            {variant.pk: variant for variant in opening},
            {level.variant_id: level for level in levels},
            {},
            movements,
            location=location,
        ),
        new_keys=True,
    )
    return movements


@transaction.atomic
def stock_level_settings_set(
    *,
    variant: Variant,
    location: Location,
    low_stock_threshold: int | None,
    target: int | None,
    actor: Actor,
) -> StockLevel:
    """Set the low-stock threshold and the target (par level) of ``variant`` at ``location``;
    ``None`` clears either, and the variant's threshold (and one more than the threshold for
    the target) applies again. Creates the empty level when the variant has none there. A
    target must be above the threshold that applies, or the level would be low once
    replenished. Setting the values it has changes nothing.

    The location must be active and, for a key bound to locations, one of its own
    (``LocationNotAllowed``). No stock moves, so no movement is written; the level is created
    under its variant's lock, as every level is."""
    errors: dict[str, str] = {}
    if low_stock_threshold is not None and not 0 <= low_stock_threshold <= MAX_QUANTITY:
        errors["low_stock_threshold"] = f"From 0 to {MAX_QUANTITY}, or null."
    if target is not None and not 1 <= target <= MAX_QUANTITY:
        errors["target"] = f"From 1 to {MAX_QUANTITY}, or null."
    if errors:
        raise ValidationError(errors)
    location = stock_location_for_change(location, actor)
    locked = _require(stock_lock(ids=[variant.pk]), [variant.pk])[variant.pk]
    level = stock_levels([variant.pk], location)[variant.pk]
    level.variant, level.location = locked, location
    applies = low_stock_threshold if low_stock_threshold is not None else locked.low_stock_threshold
    if target is not None and target <= applies:
        whose = "this level's" if low_stock_threshold is not None else "the variant's"
        raise ValidationError(
            {
                "target": f"The target must be above {whose} low-stock threshold ({applies}): "
                "at or below it, the level would still be low once replenished."
            }
        )
    if (level.low_stock_threshold, level.target) == (low_stock_threshold, target):
        return level  # nothing to change (and no empty level made only to hold nothing)
    level.low_stock_threshold, level.target = low_stock_threshold, target
    if level.pk is None:
        level.save()
    else:
        level.save(update_fields=["low_stock_threshold", "target", "updated_at"])
    # The catalog's reads show each level's threshold (low stock at a location).
    catalog_changed()
    return level
