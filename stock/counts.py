"""Counts taken while the shop stays open: a count session at one location.

Starting a session snapshots each variant's units on hand there (``count_start``); staff then
enter what the shelves hold, line by line or by scanning (``count_enter``); a preview shows
every correction and its value (``count_preview``); applying writes them all or none
(``count_apply``), once.

The shop sells on meanwhile, so the shelf a line was counted on is not the ledger the session
started from. The issue's rule is: correction = counted - (snapshot + movements at the location
since the snapshot). Taken up to the moment the session is applied, that rule would undo every
sale made after an item was counted and before the session was submitted: the sold unit is in
the count and gone from the ledger, and the correction would put it back. So the movements are
taken up to the moment the line was counted: each line keeps the units on hand when its count
was entered (``expected_at_entry``, that is snapshot + the movements until then, read under the
variant's lock, so no change is half-seen), and applying adds ``counted - expected_at_entry``
to the units on hand *at apply time*, under the variant's lock. A sale after the entry stays a
sale; a delivery before it is in both the count and the expectation; only the real difference
is corrected.

- Scanning the same variant again adds one and keeps the line's first expectation (the count
  began then); entering a ``counted`` quantity replaces the count and takes a new expectation.
- "Zero the rest" (``zero_uncounted``): every line not counted is corrected to 0 from the units
  on hand at apply time. "The rest" is the session's lines: the snapshot and what was scanned.
- A correction that would leave fewer units on hand than are committed to open orders is
  refused (409 ``insufficient_stock``), as ``stock_count`` refuses it: those orders need
  cancelling first. Nothing is applied then.
- One open session per location (a database rule): two would correct the same units twice.
  For the same reason ``stock_count`` refuses a single-variant count at a location with an open
  session, and a location with an open session cannot be archived.

Locks, in one order: the session's row, the location's (a key-share lock, ``stock_location_for_change``), then the
variants' (``stock_lock``). Sales lock the location then the variants, and never a session.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import cast

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from catalog.models import Product, Variant
from catalog.validators import MAX_QUANTITY, normalize_code
from core.actors import Actor
from stock.count_selectors import count_open_at
from stock.exceptions import CountSessionOpen, InsufficientStock, InvalidTransition
from stock.ledger import StockChange, stock_levels, write_changes
from stock.models import (
    ACTOR_MAX_LENGTH,
    NOTE_MAX_LENGTH,
    CountLine,
    CountSession,
    CountStatus,
    Location,
    MovementReason,
    StockLevel,
    StockMovement,
)
from stock.services import stock_location_for_change, stock_lock, stock_short_line

# The ways a line names its variant, of which exactly one is given.
VARIANT_KEYS = ("barcode", "sku", "variant")


@dataclass(frozen=True, slots=True)
class CountCorrection:
    """What applying a session does (or did) to one line's variant: ``units`` added to the
    ``on_hand`` it found, ``committed`` of them held for open orders."""

    line: CountLine
    on_hand: int
    committed: int
    units: int

    @property
    def on_hand_after(self) -> int:
        return self.on_hand + self.units

    @property
    def value(self) -> Decimal:
        """The units at the product's price: what the correction gains or writes off."""
        return self.units * self.line.variant.product.price

    @property
    def refused(self) -> bool:
        """Applying would leave fewer units on hand than open orders hold there."""
        return self.on_hand_after < self.committed


@dataclass(frozen=True, slots=True)
class CountResult:
    """A session with its corrections: to apply (a preview of an open session) or applied."""

    session: CountSession
    corrections: tuple[CountCorrection, ...]

    @property
    def units(self) -> int:
        return sum(correction.units for correction in self.corrections)

    @property
    def value(self) -> Decimal:
        return sum((correction.value for correction in self.corrections), Decimal("0"))


@transaction.atomic
def count_start(
    *,
    location: Location,
    actor: Actor,
    product: Product | None = None,
    zero_uncounted: bool = False,
    note: str = "",
) -> CountSession:
    """Open a count session at ``location``, with a line per variant holding its units on hand
    there now: every variant with a level there, or with ``product``, each of its variants
    (none there yet: 0). Refused (409 ``conflict``) while another session is open there; an
    archived location, or one a bound key may not act at, is refused as for any stock change."""
    note = note.strip()
    if len(note) > NOTE_MAX_LENGTH:
        raise ValidationError({"note": f"At most {NOTE_MAX_LENGTH} characters."})
    if product is not None and not product.is_active:
        raise ValidationError({"product": f"{product.name} is archived: nothing to count."})
    location = stock_location_for_change(location, actor)
    session = CountSession(
        location=location,
        product=product,
        zero_uncounted=zero_uncounted,
        note=note,
        actor_kind=actor.kind,
        actor=actor.name[:ACTOR_MAX_LENGTH],
        user_id=actor.user_id,
        api_key_id=actor.api_key_id,
    )
    # The database's rule decides between two sessions started at once; the look first gives
    # the usual case its message without a failed insert.
    _refuse_second_session(location)
    try:
        with transaction.atomic():
            session.save()
    except IntegrityError:
        _refuse_second_session(location)
        raise
    on_hand = dict(
        StockLevel.objects.filter(location=location).values_list("variant_id", "on_hand")
    )
    variant_ids = (
        sorted(product.variants.values_list("pk", flat=True))
        if product is not None
        else sorted(on_hand)
    )
    CountLine.objects.bulk_create(
        CountLine(session=session, variant_id=pk, snapshot_on_hand=on_hand.get(pk, 0))
        for pk in variant_ids
    )
    return session


def _refuse_second_session(location: Location) -> None:
    open_id = count_open_at(location)
    if open_id is not None:
        raise CountSessionOpen(location=location.code, session_id=open_id)


@transaction.atomic
def count_enter(
    *,
    session_id: int,
    actor: Actor,
    variant_id: int | None = None,
    sku: str | None = None,
    barcode: str | None = None,
    counted: int | None = None,
) -> CountLine:
    """Enter a count for one variant, named by exactly one of its id, SKU or barcode: without
    ``counted``, a scan, which adds one to the line's count; with it, the line's count. A
    variant not in the snapshot gets a line (its snapshot: its units on hand now) if the
    session counts it (its product, with a product filter); otherwise the entry is refused
    (400). Refused (409 ``invalid_transition``) once the session is applied or cancelled."""
    given: dict[str, str | int] = {
        key: value
        for key, value in zip(VARIANT_KEYS, (barcode, sku, variant_id), strict=True)
        if value is not None and value != ""
    }
    if len(given) != 1:
        raise ValidationError(f"Name the variant by exactly one of {', '.join(VARIANT_KEYS)}.")
    [(key, value)] = given.items()
    if counted is not None and not 0 <= counted <= MAX_QUANTITY:
        raise ValidationError({"counted": f"A counted quantity is from 0 to {MAX_QUANTITY}."})
    session = _lock_session(session_id)
    if session.status != CountStatus.OPEN:
        raise _not_open(session, "counted in")
    location = stock_location_for_change(session.location, actor)
    found = _find_variant(key, value)
    if found is None:
        raise ValidationError({key: "No variant with this " + _KEY_NAMES[key] + "."})
    [variant] = stock_lock(ids=[found.pk]).values()
    level = stock_levels([variant.pk], location)[variant.pk]
    line = CountLine.objects.filter(session=session, variant=variant).first()
    if line is None:
        if session.product_id is not None and variant.product_id != session.product_id:
            raise ValidationError(
                {
                    key: f"{variant.sku} is not a variant of {session.product}, the product "
                    "this session counts."
                }
            )
        line = CountLine(session=session, variant=variant, snapshot_on_hand=level.on_hand)
    if counted is None:
        counted = (line.counted or 0) + 1
        if counted > MAX_QUANTITY:
            raise ValidationError({"counted": f"A counted quantity is at most {MAX_QUANTITY}."})
        if line.counted is None:
            line.expected_at_entry = level.on_hand
    else:
        line.expected_at_entry = level.on_hand
    line.counted, line.counted_at = counted, timezone.now()
    if line.pk is None:
        line.save()
    else:
        line.save(update_fields=["counted", "expected_at_entry", "counted_at"])
    line.variant = variant
    return line


_KEY_NAMES = {"barcode": "barcode", "sku": "SKU", "variant": "id"}


def _find_variant(key: str, value: str | int) -> Variant | None:
    variants = Variant.objects.select_related("product")
    if key == "variant":
        return variants.filter(pk=value).first()
    if key == "sku":
        return variants.filter(sku=normalize_code(str(value))).first()
    return variants.filter(barcode=str(value).strip()).first()


def count_preview(*, session: CountSession) -> CountResult:
    """What applying ``session`` would do now: a correction per counted line (and, to zero the
    rest, per uncounted line with units on hand), from the units on hand at this moment. An
    applied session shows what it did; a cancelled one corrects nothing."""
    if session.status == CountStatus.APPLIED:
        return _applied_result(session)
    if session.status == CountStatus.CANCELLED:
        return CountResult(session=session, corrections=())
    lines = _lines(session)
    levels = stock_levels([line.variant_id for line in lines], session.location)
    return CountResult(session=session, corrections=tuple(_corrections(session, lines, levels)))


@transaction.atomic
def count_apply(*, session_id: int, actor: Actor) -> CountResult:
    """Apply every correction of the session as a ``count_correction`` referencing it, all or
    none, and mark it applied. Applying an applied session again changes nothing and returns
    what it did; a cancelled one is refused (409 ``invalid_transition``). A correction that
    would leave fewer units on hand than are committed to open orders refuses the whole
    session (409 ``insufficient_stock``, listing every such line)."""
    session = _lock_session(session_id)
    if session.status == CountStatus.APPLIED:
        return _applied_result(session)
    if session.status != CountStatus.OPEN:
        raise _not_open(session, "applied")
    location = stock_location_for_change(session.location, actor)
    lines = _lines(session)
    variants = stock_lock(ids=[line.variant_id for line in lines])
    levels = stock_levels([line.variant_id for line in lines], location)
    corrections = _corrections(session, lines, levels)
    short = [
        stock_short_line(
            variants[c.line.variant_id],
            location,
            levels[c.line.variant_id],
            requested=c.committed,
        )
        for c in corrections
        if c.refused
    ]
    if short:
        raise InsufficientStock(
            f"Some counts at {location.code} are below the units committed to open orders "
            "there: cancel those orders, or count again. Nothing was applied.",
            details={"location": location.code, "lines": short},
        )
    if any(c.on_hand_after > MAX_QUANTITY for c in corrections):
        raise ValidationError({"counted": f"A quantity cannot exceed {MAX_QUANTITY}."})
    movements = write_changes(
        variants,
        levels,
        [StockChange(variant_id=c.line.variant_id, delta=c.units) for c in corrections],
        location=location,
        reason=MovementReason.COUNT_CORRECTION,
        actor=actor,
        note=session.note,
        reference=session.reference,
    )
    for correction in corrections:
        correction.line.correction = correction.units
    CountLine.objects.bulk_update([c.line for c in corrections], ["correction"])
    # The movements' time: the applied session's result is found by it (an indexed column).
    applied_at = movements[0].created_at if movements else timezone.now()
    session.status, session.applied_at = CountStatus.APPLIED, applied_at
    session.save(update_fields=["status", "applied_at"])
    return CountResult(session=session, corrections=tuple(corrections))


@transaction.atomic
def count_cancel(*, session_id: int, actor: Actor) -> CountSession:
    """Cancel an open session: nothing moves. Cancelling a cancelled session changes nothing;
    an applied one is refused (409 ``invalid_transition``)."""
    session = _lock_session(session_id)
    if session.status == CountStatus.CANCELLED:
        return session
    if session.status != CountStatus.OPEN:
        raise _not_open(session, "cancelled")
    stock_location_for_change(
        session.location, actor
    )  # a bound key cancels only at its own locations
    session.status, session.cancelled_at = CountStatus.CANCELLED, timezone.now()
    session.save(update_fields=["status", "cancelled_at"])
    return session


def _lock_session(session_id: int) -> CountSession:
    """The session, its row locked for the rest of the transaction (``DoesNotExist``: 404)."""
    return (
        CountSession.objects.select_related("location", "product")
        .select_for_update(of=("self",))
        .get(pk=session_id)
    )


def _not_open(session: CountSession, verb: str) -> InvalidTransition:
    return InvalidTransition(
        f"{session.reference} is {session.status}: it can no longer be {verb}. Nothing was "
        "changed.",
        details={"count": session.pk, "status": session.status},
    )


def _lines(session: CountSession) -> list[CountLine]:
    return list(
        CountLine.objects.filter(session=session)
        .select_related("variant__product")
        .order_by("variant_id")
    )


def _corrections(
    session: CountSession, lines: Sequence[CountLine], levels: dict[int, StockLevel]
) -> list[CountCorrection]:
    """The correction of every line that has one, by variant: a counted line's is its count
    less what was on hand when it was counted; an uncounted line's, zeroing the rest, takes
    what is on hand now. A counted line's correction is written even when it is 0: the
    ledger then shows the variant was counted and found right."""
    corrections = []
    for line in lines:
        level = levels[line.variant_id]
        if line.counted is not None:
            # A count comes with its expectation (a database rule).
            units = line.counted - cast(int, line.expected_at_entry)
        elif session.zero_uncounted and level.on_hand:
            units = -level.on_hand
        else:
            continue
        corrections.append(
            CountCorrection(
                line=line, on_hand=level.on_hand, committed=level.committed, units=units
            )
        )
    return corrections


def _applied_result(session: CountSession) -> CountResult:
    """What an applied session did, from its movements (the ledger is the record)."""
    lines = {line.variant_id: line for line in _lines(session)}
    movements = StockMovement.objects.filter(
        created_at=cast(datetime, session.applied_at),  # set when applied (a database rule)
        location=session.location,
        reason=MovementReason.COUNT_CORRECTION,
        reference=session.reference,
    ).order_by("variant_id")
    return CountResult(
        session=session,
        corrections=tuple(
            CountCorrection(
                line=lines[movement.variant_id],
                on_hand=movement.quantity_after - movement.delta,
                committed=movement.committed_after,
                units=movement.delta,
            )
            for movement in movements
        ),
    )
