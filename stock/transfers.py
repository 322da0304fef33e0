"""Transfers: stock moved from one location to another, with the units in transit on the way.

A transfer is drafted, then shipped: every line leaves the source's shelf (``transfer_out``
there), taken only from what is available (committed units stay for their orders), all or
nothing; the same units are then ``incoming`` at the destination (a ``transfer_out`` movement
there too), on hand nowhere. They are received line by line (``transfer_in``: incoming becomes
on hand), partly if need be; a transfer closed short writes off what never arrived (``lost``,
from incoming), and one cancelled before anything arrived puts its units back on the source's
shelf (``transfer_cancelled`` at both ends). So for every variant, units on hand everywhere plus
units in transit change only by movements that are not a transfer's: ``reconcile_stock``
proves it.

Locks, always in this order: the transfer's row (``FOR UPDATE``: racing ships, receipts and
cancels of one transfer act once, the later ones see the new status), the two locations
(key-share, as every change takes them, both in one statement in key order), the variants in primary-key order (``stock_lock``,
as every change takes them), and under those the levels. Orders take locations then variants,
and never a transfer, so no cycle can form between the two.
"""

import secrets
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from catalog.models import Variant
from catalog.validators import MAX_QUANTITY, normalize_code
from core.actors import Actor
from events.services import emit
from stock.events import transfer_event_data
from stock.exceptions import (
    InsufficientStock,
    InvalidTransferLines,
    InvalidTransition,
    LocationNotAllowed,
    TransferChanged,
)
from stock.ledger import StockChange, stock_levels, write_changes
from stock.models import (
    ACTOR_MAX_LENGTH,
    NOTE_MAX_LENGTH,
    REFERENCE_MAX_LENGTH,
    Location,
    MovementReason,
    StockLevel,
    Transfer,
    TransferLine,
    TransferStatus,
)
from stock.services import stock_location_for_change, stock_locations_lock, stock_lock

# Transfer numbers: "TR-" and 10 characters of Crockford's base32, as order numbers are.
_NUMBER_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_NUMBER_ATTEMPTS = 3
# How many lines one transfer may have: a van, not a warehouse.
MAX_LINES = 500


@dataclass(frozen=True, slots=True)
class TransferLineRequest:
    """A line as a client asks for it: a variant by id or by SKU, and a quantity."""

    quantity: int
    variant_id: int | None = None
    sku: str | None = None


@dataclass(frozen=True, slots=True)
class ReceiptLine:
    """Units of one line of a transfer that arrived."""

    line_id: int
    quantity: int


def transfer_create(
    *,
    from_location: Location,
    to_location: Location,
    lines: Sequence[TransferLineRequest],
    actor: Actor,
    note: str = "",
    reference: str = "",
) -> Transfer:
    """A draft transfer: nothing moves until it ships. Two different active locations (a key
    bound to locations must be bound to one end), one line per variant, each quantity from 1
    up. Raises ``ValidationError`` (the transfer's fields) or ``InvalidTransferLines``."""
    note, reference = note.strip(), reference.strip()
    errors: dict[str, str] = {}
    if from_location.pk == to_location.pk:
        errors["to_location"] = "A transfer goes to another location than the one it is from."
    for field, location in (("from_location", from_location), ("to_location", to_location)):
        if not location.is_active:
            errors.setdefault(field, f"{location.code} is archived and holds no stock.")
    if len(note) > NOTE_MAX_LENGTH:
        errors["note"] = f"At most {NOTE_MAX_LENGTH} characters."
    if len(reference) > REFERENCE_MAX_LENGTH:
        errors["reference"] = f"At most {REFERENCE_MAX_LENGTH} characters."
    if not lines:
        errors["lines"] = "A transfer needs at least one line."
    elif len(lines) > MAX_LINES:
        errors["lines"] = f"At most {MAX_LINES} lines."
    if errors:
        raise ValidationError(errors)
    _check_either_end(from_location, to_location, actor)
    for _ in range(_NUMBER_ATTEMPTS):
        number = "TR-" + "".join(secrets.choice(_NUMBER_ALPHABET) for _ in range(10))
        try:
            return _create(
                number=number,
                from_location=from_location,
                to_location=to_location,
                lines=lines,
                actor=actor,
                note=note,
                reference=reference,
            )
        except IntegrityError:
            if Transfer.objects.filter(number=number).exists():
                continue
            raise
    raise IntegrityError("Could not draw a free transfer number.")


@transaction.atomic
def _create(
    *,
    number: str,
    from_location: Location,
    to_location: Location,
    lines: Sequence[TransferLineRequest],
    actor: Actor,
    note: str,
    reference: str,
) -> Transfer:
    # Both ends read again under the key-share lock every change takes: an archive under way
    # (which locks the row for update, then looks for open transfers) is waited for and seen,
    # and one that starts later waits for this draft and refuses.
    ends = stock_locations_lock([from_location, to_location])
    for field, location in (("from_location", from_location), ("to_location", to_location)):
        _active(ends[location.pk], field)
    variants = _line_variants(lines)
    transfer = Transfer.objects.create(
        number=number,
        from_location=from_location,
        to_location=to_location,
        note=note,
        reference=reference,
        created_by=actor.name[:ACTOR_MAX_LENGTH],
        user_id=actor.user_id,
        api_key_id=actor.api_key_id,
    )
    transfer.lines.bulk_create(
        TransferLine(transfer=transfer, variant=variant, quantity=line.quantity)
        for line, variant in zip(lines, variants, strict=True)
    )
    return transfer


def _line_variants(lines: Sequence[TransferLineRequest]) -> list[Variant]:
    """The variant of every line, in order, or ``InvalidTransferLines`` naming each bad line."""
    ids = {line.variant_id for line in lines if line.variant_id is not None}
    skus = {normalize_code(line.sku) for line in lines if line.sku}
    found = list(Variant.objects.filter(pk__in=ids) | Variant.objects.filter(sku__in=skus))
    by_id, by_sku = {v.pk: v for v in found}, {v.sku: v for v in found}
    variants: list[Variant | None] = []
    errors: list[dict[str, list[str]]] = []
    seen: set[int] = set()
    for line in lines:
        key = "variant" if line.variant_id is not None else "sku"
        if line.variant_id is None and not line.sku:
            variant, error = None, {"variant": ["Name the variant by id or by SKU."]}
        else:
            variant = (
                by_id.get(line.variant_id)
                if line.variant_id is not None
                else by_sku.get(normalize_code(line.sku or ""))
            )
            error = {}
            if variant is None:
                error = {key: ["No such variant."]}
            elif variant.pk in seen:
                error = {key: ["This variant is in the transfer more than once."]}
            elif not 0 < line.quantity <= MAX_QUANTITY:
                error = {"quantity": [f"From 1 to {MAX_QUANTITY}."]}
        if variant is not None:
            seen.add(variant.pk)
        variants.append(variant)
        errors.append(error)
    if any(errors):
        raise InvalidTransferLines(details={"lines": errors})
    return [variant for variant in variants if variant is not None]


@transaction.atomic
def transfer_ship(*, transfer_id: int, actor: Actor) -> Transfer:
    """Ship a draft: every line leaves the source's shelf, taken only from what is available
    there (``InsufficientStock`` names every short line; nothing moves), and is incoming at the
    destination. A key bound to locations ships only from its own."""
    transfer = _locked(transfer_id, allowed={TransferStatus.DRAFT}, action="ship")
    # Both ends first, in key order (one lock order for every transfer); then the source
    # checked as every change checks its location (its lock is held already).
    ends = stock_locations_lock([transfer.from_location, transfer.to_location])
    source = stock_location_for_change(transfer.from_location, actor)
    destination = _active(ends[transfer.to_location_id], "to_location")
    lines = list(transfer.lines.all())
    variants = stock_lock(ids=[line.variant_id for line in lines])
    ids = sorted(variants)
    at_source = stock_levels(ids, source)
    short = [
        {
            "line": line.pk,
            "variant": line.variant_id,
            "sku": variants[line.variant_id].sku,
            "location": source.code,
            "requested": line.quantity,
            "available": at_source[line.variant_id].available,
        }
        for line in lines
        if line.quantity > at_source[line.variant_id].available
    ]
    if short:
        raise InsufficientStock(
            f"Not enough stock available at {source.code} to ship {transfer.number}; nothing "
            "was shipped.",
            details={"location": source.code, "lines": short},
        )
    _move(
        transfer,
        variants,
        [StockChange(variant_id=line.variant_id, delta=-line.quantity) for line in lines],
        location=source,
        levels=at_source,
        reason=MovementReason.TRANSFER_OUT,
        actor=actor,
    )
    _move(
        transfer,
        variants,
        [
            StockChange(variant_id=line.variant_id, delta=0, incoming=line.quantity)
            for line in lines
        ],
        location=destination,
        reason=MovementReason.TRANSFER_OUT,
        actor=actor,
    )
    shipped = _save(transfer, TransferStatus.IN_TRANSIT, shipped_at=timezone.now())
    emit("transfer.shipped", transfer_event_data(shipped))
    return shipped


@transaction.atomic
def transfer_receive(
    *,
    transfer_id: int,
    lines: Sequence[ReceiptLine],
    actor: Actor,
    expected_received: int | None = None,
) -> Transfer:
    """Record units that arrived: each line's quantity goes from incoming to on hand at the
    destination; never more than is still in transit on that line (``InvalidTransferLines``).
    When every unit has arrived, the transfer is received. A key bound to locations receives
    only at its own.

    With ``expected_received`` (the units received so far when the caller read the transfer,
    as a form shows them), a transfer that has received others since is refused
    (``TransferChanged``, 409): a receipt submitted twice is booked once."""
    transfer = _locked(transfer_id, allowed={TransferStatus.IN_TRANSIT}, action="receive")
    destination = stock_location_for_change(transfer.to_location, actor)
    own = {line.pk: line for line in transfer.lines.all()}
    received = sum(line.quantity_received for line in own.values())
    if expected_received is not None and expected_received != received:
        raise TransferChanged(
            f"{received - expected_received} unit(s) of {transfer.number} were received since "
            "you read it; nothing was received. Look at the transfer again.",
            details={"expected_received": expected_received, "received": received},
        )
    _check_receipt(lines, own)
    variants = stock_lock(ids=[own[line.line_id].variant_id for line in lines])
    write_changes(
        variants,
        stock_levels(sorted(variants), destination),
        [
            StockChange(
                variant_id=own[line.line_id].variant_id,
                delta=line.quantity,
                incoming=-line.quantity,
            )
            for line in lines
        ],
        location=destination,
        reason=MovementReason.TRANSFER_IN,
        actor=actor,
        note=transfer.note,
        reference=transfer.number,
    )
    for line in lines:
        own[line.line_id].quantity_received += line.quantity
    TransferLine.objects.bulk_update([own[line.line_id] for line in lines], ["quantity_received"])
    if all(line.in_transit == 0 for line in own.values()):
        return _received(transfer)
    return _save(transfer, TransferStatus.IN_TRANSIT)


def _check_receipt(lines: Sequence[ReceiptLine], own: dict[int, TransferLine]) -> None:
    if not lines:
        raise ValidationError({"lines": "Name at least one line that arrived."})
    errors: list[dict[str, list[str]]] = []
    seen: set[int] = set()
    for line in lines:
        found = own.get(line.line_id)
        if found is None:
            errors.append({"line": ["No such line in this transfer."]})
        elif line.line_id in seen:
            errors.append({"line": ["This line is in the receipt more than once."]})
        elif not 0 < line.quantity <= found.in_transit:
            errors.append(
                {
                    "quantity": [
                        f"From 1 to {found.in_transit}: {found.quantity} shipped, "
                        f"{found.quantity_received} received already."
                        if found.in_transit
                        else "Every unit of this line has arrived already."
                    ]
                }
            )
        else:
            errors.append({})
        seen.add(line.line_id)
    if any(errors):
        raise InvalidTransferLines(details={"lines": errors})


@transaction.atomic
def transfer_close(*, transfer_id: int, actor: Actor) -> Transfer:
    """End a transfer in transit that will receive no more: the units that never arrived are
    written off at the destination as lost in transit (``lost``, from incoming), each line
    keeps its shortfall (``quantity_lost``), and the transfer is received. A key bound to
    locations closes only at its own destination."""
    transfer = _locked(transfer_id, allowed={TransferStatus.IN_TRANSIT}, action="close")
    destination = stock_location_for_change(transfer.to_location, actor)
    missing = [line for line in transfer.lines.all() if line.in_transit]
    if missing:
        variants = stock_lock(ids=[line.variant_id for line in missing])
        write_changes(
            variants,
            stock_levels(sorted(variants), destination),
            [
                StockChange(variant_id=line.variant_id, delta=0, incoming=-line.in_transit)
                for line in missing
            ],
            location=destination,
            reason=MovementReason.LOST,
            actor=actor,
            note=f"Lost in transit ({transfer.number})",
            reference=transfer.number,
        )
        for line in missing:
            line.quantity_lost = line.in_transit
        TransferLine.objects.bulk_update(missing, ["quantity_lost"])
    return _received(transfer)


@transaction.atomic
def transfer_cancel(*, transfer_id: int, actor: Actor) -> Transfer:
    """Cancel a draft (nothing moves; a key bound to either end may), or a transfer in transit
    of which nothing arrived yet: its units go back on the source's shelf and are no longer
    incoming at the destination (``transfer_cancelled`` at both; a key bound to the source
    only). Anything else is ``InvalidTransition``."""
    transfer = _locked(
        transfer_id, allowed={TransferStatus.DRAFT, TransferStatus.IN_TRANSIT}, action="cancel"
    )
    if transfer.status == TransferStatus.DRAFT:
        _check_either_end(transfer.from_location, transfer.to_location, actor)
        return _save(transfer, TransferStatus.CANCELLED, cancelled_at=timezone.now())
    lines = list(transfer.lines.all())
    if any(line.quantity_received or line.quantity_lost for line in lines):
        raise InvalidTransition(
            f"Units of {transfer.number} have arrived: close it instead of cancelling it.",
            details={"status": transfer.status, "action": "cancel"},
        )
    ends = stock_locations_lock([transfer.from_location, transfer.to_location])
    source = stock_location_for_change(transfer.from_location, actor)
    destination = ends[transfer.to_location_id]
    variants = stock_lock(ids=[line.variant_id for line in lines])
    _move(
        transfer,
        variants,
        [
            StockChange(variant_id=line.variant_id, delta=0, incoming=-line.quantity)
            for line in lines
        ],
        location=destination,
        reason=MovementReason.TRANSFER_CANCELLED,
        actor=actor,
    )
    # The source takes its units back only while it is active (``stock_location_for_change``
    # refuses an archived one): an archived place holds no stock.
    _move(
        transfer,
        variants,
        [StockChange(variant_id=line.variant_id, delta=line.quantity) for line in lines],
        location=source,
        reason=MovementReason.TRANSFER_CANCELLED,
        actor=actor,
    )
    return _save(transfer, TransferStatus.CANCELLED, cancelled_at=timezone.now())


def _move(
    transfer: Transfer,
    variants: Mapping[int, Variant],
    changes: Sequence[StockChange],
    *,
    location: Location,
    reason: str,
    actor: Actor,
    levels: Mapping[int, StockLevel] | None = None,
    note: str | None = None,
) -> None:
    """Write the transfer's changes at one of its ends, under the variants' locks, each
    movement referencing the transfer."""
    write_changes(
        variants,
        levels if levels is not None else stock_levels(sorted(variants), location),
        changes,
        location=location,
        reason=reason,
        actor=actor,
        note=transfer.note if note is None else note,
        reference=transfer.number,
    )


def _locked(transfer_id: int, *, allowed: Collection[str], action: str) -> Transfer:
    """The transfer's row, locked for the rest of the transaction, with its locations; an
    action its status does not allow is ``InvalidTransition`` (409)."""
    transfer = (
        Transfer.objects.select_related("from_location", "to_location")
        .select_for_update(of=("self",))
        .get(pk=transfer_id)
    )
    if transfer.status not in allowed:
        raise InvalidTransition(
            f"Transfer {transfer.number} is {transfer.get_status_display().lower()}: it cannot "
            f"{action}.",
            details={"status": transfer.status, "action": action},
        )
    return transfer


def _active(location: Location, field: str) -> Location:
    if not location.is_active:
        raise ValidationError({field: f"{location.code} is archived and holds no stock."})
    return location


def _check_either_end(source: Location, destination: Location, actor: Actor) -> None:
    """A key bound to locations drafts and cancels drafts only of transfers from or to one of
    its own."""
    if actor.api_key_id is None:
        return
    own = set(Location.objects.filter(api_keys=actor.api_key_id).values_list("code", flat=True))
    if own and not own & {source.code, destination.code}:
        raise LocationNotAllowed(
            f"This API key acts only at {', '.join(sorted(own))}; not at {source.code} or "
            f"{destination.code}.",
            details={
                "location": [source.code, destination.code],
                "allowed_locations": sorted(own),
            },
        )


def _received(transfer: Transfer) -> Transfer:
    """The transfer ends: every unit arrived, or the rest was written off by a close."""
    received = _save(transfer, TransferStatus.RECEIVED, received_at=timezone.now())
    emit("transfer.received", transfer_event_data(received))
    return received


def _save(transfer: Transfer, status: str, **stamps: object) -> Transfer:
    transfer.status = status
    for field, value in stamps.items():
        setattr(transfer, field, value)
    transfer.save(update_fields=["status", "updated_at", *stamps])
    return transfer
