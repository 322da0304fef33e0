"""Replenishing a location from another: what to send, and a draft transfer that sends it.

A level is low when what is available there is at or below its low-stock threshold (the
level's own, else the variant's: ``StockLevel.effective_low_stock_threshold``). Replenishing
brings it up to its target (the level's own, else the threshold + 1), counting the units
already on their way there (``incoming``): ``needed = target - available - incoming``. What is
suggested is that, limited by what is available at the source (committed units stay for their
orders). Only levels are looked at: a variant that has never had a level at the destination is
not suggested until it has one (setting its target there makes one).

The suggestion is a read: it moves nothing, and a draft transfer moves nothing either. Shipping
the draft (``stock.transfers.transfer_ship``) checks again, under its locks, what is available
at the source then.
"""

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db.models import F, IntegerField, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from catalog.validators import normalize_code
from core.actors import Actor
from stock.models import (
    EFFECTIVE_TARGET,
    EFFECTIVE_THRESHOLD,
    Location,
    StockLevel,
    Transfer,
    TransferLine,
    TransferStatus,
)
from stock.transfers import TransferLineRequest, transfer_create

REPLENISHMENT_NOTE = "Replenishment"


@dataclass(frozen=True, slots=True)
class ReplenishmentLine:
    """One low level at the destination and what to send it from the source."""

    variant_id: int
    sku: str
    product_name: str
    size: str
    available: int  # at the destination
    incoming: int  # at the destination, shipped and not received yet
    drafted: int  # in draft transfers to the destination, from anywhere: not shipped yet
    low_stock_threshold: int
    target: int
    available_at_source: int  # less what draft transfers from it already ask for
    needed: int  # target - available - incoming - drafted
    suggested: int  # needed, limited by what is available at the source


def replenishment_locations(
    *, to_code: str | None, from_code: str | None
) -> tuple[Location, Location]:
    """The destination and the source named by their codes (any case): both given, existing,
    active and different, or a ``ValidationError`` on ``to`` and ``from``. One query."""
    codes = {"to": to_code, "from": from_code}
    normalized = {field: normalize_code(code or "") for field, code in codes.items()}
    found = {
        location.code: location
        for location in Location.objects.filter(code__in=[c for c in normalized.values() if c])
    }
    errors: dict[str, str] = {}
    for field, code in normalized.items():
        location = found.get(code)
        if not code:
            errors[field] = "Name a location by its code."
        elif location is None:
            errors[field] = f"No location with code {code}."
        elif not location.is_active:
            errors[field] = f"{code} is archived and holds no stock."
    if not errors and normalized["to"] == normalized["from"]:
        errors["from"] = "Replenish from another location than the one replenished."
    if errors:
        raise ValidationError(errors)
    return found[normalized["to"]], found[normalized["from"]]


def replenishment_lines(
    *, to_location: Location, from_location: Location
) -> list[ReplenishmentLine]:
    """What to send from ``from_location`` to bring each low level at ``to_location`` (of an
    active product's variant) back to its target, by product name then variant. Units already
    on their way (incoming) or already drafted to it (draft transfers from any location) count
    towards the target, and what draft transfers already ask of the source is not available
    there again, so that asking twice drafts nothing twice; levels already covered are left
    out, and those the source cannot supply are kept, with 0 suggested. One query."""
    at_source = (
        StockLevel.objects.filter(variant=OuterRef("variant_id"), location=from_location)
        .annotate(units=F("on_hand") - F("committed"))
        .values("units")
    )
    drafted, drafted_out = (
        TransferLine.objects.filter(
            variant=OuterRef("variant_id"), transfer__status=TransferStatus.DRAFT, **end
        )
        .order_by()
        .values("variant")
        .annotate(units=Sum("quantity"))
        .values("units")
        for end in (
            {"transfer__to_location": to_location},
            {"transfer__from_location": from_location},
        )
    )
    rows = (
        StockLevel.objects.filter(
            location=to_location,
            variant__product__is_active=True,
            # available (on hand - committed) <= threshold, without a subtraction on the column
            on_hand__lte=F("committed") + EFFECTIVE_THRESHOLD,
        )
        .annotate(
            threshold=EFFECTIVE_THRESHOLD,
            par=EFFECTIVE_TARGET,
            source=Coalesce(Subquery(at_source, output_field=IntegerField()), Value(0))
            - Coalesce(Subquery(drafted_out, output_field=IntegerField()), Value(0)),
            drafted=Coalesce(Subquery(drafted, output_field=IntegerField()), Value(0)),
        )
        .order_by("variant__product__name", "variant_id")
        .values_list(
            "variant_id",
            "variant__sku",
            "variant__product__name",
            "variant__size",
            "on_hand",
            "committed",
            "incoming",
            "threshold",
            "par",
            "source",
            "drafted",
        )
    )
    lines = []
    for row in rows:
        variant_id, sku, name, size, on_hand, committed, incoming, threshold, par, source = row[:10]
        drafted_units = row[10]
        available = on_hand - committed
        needed = par - available - incoming - drafted_units
        if needed <= 0:
            continue
        lines.append(
            ReplenishmentLine(
                variant_id=variant_id,
                sku=sku,
                product_name=name,
                size=size,
                available=available,
                incoming=incoming,
                drafted=drafted_units,
                low_stock_threshold=threshold,
                target=par,
                available_at_source=source,
                needed=needed,
                suggested=max(0, min(needed, source)),
            )
        )
    return lines


def replenishment_transfer_create(
    *, to_location: Location, from_location: Location, actor: Actor, note: str = ""
) -> Transfer:
    """A draft transfer from ``from_location`` to ``to_location`` with every suggested line
    (``replenishment_lines``), through the transfers' own service (``transfer_create``: a key
    bound to locations must be bound to one end). Nothing to suggest is a ``ValidationError``
    on ``to``."""
    lines = [
        TransferLineRequest(variant_id=line.variant_id, quantity=line.suggested)
        for line in replenishment_lines(to_location=to_location, from_location=from_location)
        if line.suggested > 0
    ]
    if not lines:
        raise ValidationError(
            {
                "to": f"Nothing to replenish at {to_location.code} from {from_location.code}: "
                "no level there is low, or the units it needs are already on their way or in a "
                "draft transfer, or "
                f"{from_location.code} has none of them available."
            }
        )
    return transfer_create(
        from_location=from_location,
        to_location=to_location,
        lines=lines,
        actor=actor,
        note=note.strip() or REPLENISHMENT_NOTE,
    )
