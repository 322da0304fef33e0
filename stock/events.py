"""What the stock tells the events outbox (``events.services.emit_many``): a
``stock_level.updated`` for every level a change touches, and the crossings of a level, and of
a variant over all locations, into low stock, out of stock and back in stock. Written by the
ledger's writer in the transaction of the change."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from catalog.models import Variant
from events.services import Emission
from stock.models import Location, StockLevel, StockMovement, Transfer, TransferLine


@dataclass(frozen=True, slots=True)
class Before:
    """What was available before a change: at the level's location, and over all locations."""

    here: int
    everywhere: int


def before_change(variant: Variant, level: StockLevel) -> Before:
    return Before(here=level.on_hand - level.committed, everywhere=variant.quantity)


def crossing(before: int, after: int, threshold: int) -> str | None:
    """The event of a change of the units available from ``before`` to ``after``, if it crosses
    a line: none to some (back in stock), some to none (out of stock), or above the low-stock
    threshold to at or below it, some left (low stock). None for any other change."""
    if before > 0 >= after:
        return "variant.out_of_stock"
    if before <= 0 < after:
        return "variant.back_in_stock"
    if before > threshold >= after:
        return "variant.low_stock"
    return None


def level_emissions(
    variants: Mapping[int, Variant],
    levels: Mapping[int, StockLevel],
    before: Mapping[int, Before],
    movements: Sequence[StockMovement],
    *,
    location: Location,
) -> list[Emission]:
    """The events of the ``movements`` just written at ``location``, one per variant, with the
    levels and variants as they are after it. A level's ``sequence`` is its latest movement's
    id: the caller holds the variant's lock, so every later change of the level has a higher
    one."""
    emissions = []
    for movement in movements:
        variant, level = variants[movement.variant_id], levels[movement.variant_id]
        available = level.on_hand - level.committed
        emissions.append(
            Emission(
                "stock_level.updated",
                {
                    **_variant_data(variant),
                    "location": location.code,
                    "on_hand": level.on_hand,
                    "committed": level.committed,
                    "available": available,
                    "incoming": level.incoming,
                },
                key=f"stock_level:{variant.pk}:{location.pk}",
                sequence=movement.pk,
            )
        )
        was = before.get(variant.pk)
        if was is None:
            continue
        threshold = (
            level.low_stock_threshold
            if level.low_stock_threshold is not None
            else variant.low_stock_threshold
        )
        # At this location, and over all of them (location null).
        for code, from_, to, line in (
            (location.code, was.here, available, threshold),
            (None, was.everywhere, variant.quantity, variant.low_stock_threshold),
        ):
            event_type = crossing(from_, to, line)
            if event_type is not None:
                emissions.append(
                    Emission(
                        event_type,
                        {
                            **_variant_data(variant),
                            "location": code,
                            "available": to,
                            "low_stock_threshold": line,
                        },
                    )
                )
    return emissions


def _variant_data(variant: Variant) -> dict[str, Any]:
    return {"variant": variant.pk, "sku": variant.sku, "product": variant.product_id}


def transfer_event_data(transfer: Transfer) -> dict[str, Any]:
    """What a transfer's events tell, its lines as they are now (one query); a receiver reads
    the rest at /transfers/{id}/."""
    return {
        "id": transfer.pk,
        "number": transfer.number,
        "status": str(transfer.status),
        "from_location": transfer.from_location.code,
        "to_location": transfer.to_location.code,
        "shipped_at": _time(transfer.shipped_at),
        "received_at": _time(transfer.received_at),
        "lines": [
            {
                "sku": line["variant__sku"],
                "quantity": line["quantity"],
                "quantity_received": line["quantity_received"],
                "quantity_lost": line["quantity_lost"],
            }
            for line in TransferLine.objects.filter(transfer=transfer)
            .order_by("pk")
            .values("variant__sku", "quantity", "quantity_received", "quantity_lost")
        ],
    }


def _time(value: Any) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")
