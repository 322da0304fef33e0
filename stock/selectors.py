"""Reads of the stock: locations, levels, the ledger, low stock and the ledger's invariants.
Each selector owns the joins its callers need."""

from collections.abc import Mapping
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, OuterRef, Prefetch, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from catalog.models import Variant
from catalog.selectors import variant_list
from catalog.validators import normalize_code
from stock.models import (
    DEFAULT_LOCATION_CODE,
    EFFECTIVE_THRESHOLD,
    TRANSFER_REASONS,
    Location,
    LocationKind,
    StockLevel,
    StockMovement,
    Transfer,
    TransferLine,
    TransferStatus,
)
from stock.reconcile import committed_expected


def location_list() -> QuerySet[Location]:
    return Location.objects.order_by("code", "id")


def location_default() -> Location:
    """The location where a change or an order that names none happens.

    Migrations make it (``MAIN``); a database emptied since (a test's flush, the demo's reset)
    gets it back on first use, so that there is always exactly one."""
    location = Location.objects.filter(is_default=True).first()
    if location is not None:
        return location
    try:
        with transaction.atomic():
            return Location.objects.create(
                code=DEFAULT_LOCATION_CODE,
                name="Main stock",
                kind=LocationKind.WAREHOUSE,
                is_default=True,
            )
    except IntegrityError:
        # Made meanwhile by a concurrent first use (or MAIN exists but is not the default,
        # which a manager changed on purpose: then the default is theirs to set).
        return Location.objects.get(is_default=True)


def location_for_stock(code: str | None) -> Location:
    """The active location with ``code`` (in any case), or the default one for none; a code
    that names no location, or an archived one, is a ``ValidationError`` on ``location``."""
    if code is None or not code.strip():
        return location_default()
    location = Location.objects.filter(code=normalize_code(code)).first()
    if location is None:
        raise ValidationError({"location": f"No location with code {normalize_code(code)!r}."})
    if not location.is_active:
        raise ValidationError({"location": f"{location.code} is archived and holds no stock."})
    return location


def stock_level_list() -> QuerySet[StockLevel]:
    """Every level, with its variant, product and location, by variant then location."""
    return StockLevel.objects.select_related("variant__product", "location").order_by(
        "variant_id", "location_id"
    )


def stock_movement_list() -> QuerySet[StockMovement]:
    """The ledger, newest first, with each movement's variant (for its SKU) and location."""
    return StockMovement.objects.select_related("variant", "location").order_by("-id")


def transfer_list() -> QuerySet[Transfer]:
    """Transfers, newest first, each with its two locations and its lines (with their
    variants, for their SKUs): two queries for any page."""
    lines = Prefetch(
        "lines", queryset=TransferLine.objects.select_related("variant").order_by("id")
    )
    return (
        Transfer.objects.select_related("from_location", "to_location")
        .prefetch_related(lines)
        .order_by("-id")
    )


def transfer_get(*, transfer_id: int) -> Transfer:
    return transfer_list().get(pk=transfer_id)


def low_stock_levels(*, location: Location | None = None) -> QuerySet[StockLevel]:
    """The levels (at ``location``, or at every active location) of active products' variants
    whose units available there are at or below the low-stock threshold that applies there
    (the level's own, else the variant's): what to reorder or move where, emptiest first. A variant with no level anywhere is not among them
    (see ``unstocked_variants``)."""
    levels = stock_level_list().filter(
        # available (on hand - committed) <= threshold, without a subtraction on the column
        on_hand__lte=F("committed") + EFFECTIVE_THRESHOLD,
        location__is_active=True,
        variant__product__is_active=True,
    )
    if location is not None:
        levels = levels.filter(location=location)
    return levels.order_by(
        F("on_hand") - F("committed"), "variant__product__name", "variant_id", "location__code"
    )


def unstocked_variants() -> QuerySet[Variant]:
    """Active products' variants that have never had stock anywhere (no level at all): sold
    out everywhere, each as if at the default location."""
    return (
        variant_list()
        .filter(product__is_active=True, stock_levels__isnull=True)
        .order_by("product__name", "id")
    )


def _ledger_sum(column: str) -> Coalesce:
    ledger = (
        StockMovement.objects.filter(
            variant=OuterRef("variant_id"), location=OuterRef("location_id")
        )
        .order_by()
        .values("variant", "location")
        .annotate(total=Sum(column))
        .values("total")
    )
    return Coalesce(Subquery(ledger), Value(0))


def stock_level_drift() -> QuerySet[StockLevel]:
    """Levels whose units on hand, committed or incoming are not the sums of their movements
    there: the ledger's invariant broken (by a write that went around the stock service).
    Should always be empty. (A movement at a level that does not exist shows as a variant's
    drift.)"""
    return (
        StockLevel.objects.annotate(
            ledger_on_hand=_ledger_sum("delta"),
            ledger_committed=_ledger_sum("committed_delta"),
            ledger_incoming=_ledger_sum("incoming_delta"),
        )
        .filter(
            ~Q(on_hand=F("ledger_on_hand"))
            | ~Q(committed=F("ledger_committed"))
            | ~Q(incoming=F("ledger_incoming"))
        )
        .select_related("variant", "location")
        .order_by("variant_id", "location_id")
    )


def stock_drift() -> QuerySet[Variant]:
    """Variants whose totals (available and committed) are not the sums of their movements over
    every location: the cache on the variant, or the ledger, broken. Should always be empty."""

    def total(column: str) -> Coalesce:
        ledger = (
            StockMovement.objects.filter(variant=OuterRef("pk"))
            .order_by()
            .values("variant")
            .annotate(total=Sum(column))
            .values("total")
        )
        return Coalesce(Subquery(ledger), Value(0))

    return (
        Variant.objects.annotate(
            ledger_on_hand=total("delta"), ledger_committed=total("committed_delta")
        )
        .filter(
            ~Q(quantity=F("ledger_on_hand") - F("ledger_committed"))
            | ~Q(committed=F("ledger_committed"))
        )
        .select_related("product")
        .order_by("id")
    )


@dataclass(frozen=True, slots=True)
class CommittedDrift:
    """A level whose committed units are not what open orders hold there."""

    sku: str
    location: str
    committed: int
    expected: int


def stock_committed_drift() -> list[CommittedDrift]:
    """Places where a level's committed units differ from what the open orders (every source
    registered in ``stock.reconcile``) hold there, by variant then location: a level changed
    around the services, or an order whose units were never committed or never released.
    Should always be empty. A place where orders hold units and no level exists counts as
    committed 0.

    Four queries (one per source, the committed levels, the names of what differs), however
    many levels there are. Run them in one snapshot (``reconcile_stock`` does), or concurrent
    orders show as differences."""
    return [
        CommittedDrift(sku=sku, location=code, committed=held, expected=expected)
        for sku, code, held, expected in _levels_differing("committed", committed_expected())
    ]


def _levels_differing(
    column: str, expected: Mapping[tuple[int, int], int]
) -> list[tuple[str, str, int, int]]:
    """Where the levels' ``column`` differs from ``expected`` (units by variant id and
    location id; missing: 0), by variant then location: the SKU, the location's code, what the
    level holds and what was expected. Two queries, a third to name what differs."""
    held = {
        (variant_id, location_id): units
        for variant_id, location_id, units in StockLevel.objects.exclude(**{column: 0})
        .order_by()
        .values_list("variant_id", "location_id", column)
    }
    differ = sorted(
        key for key in expected.keys() | held.keys() if expected.get(key, 0) != held.get(key, 0)
    )
    if not differ:
        return []
    skus = dict(Variant.objects.filter(pk__in={v for v, _ in differ}).values_list("pk", "sku"))
    codes = dict(
        Location.objects.filter(pk__in={loc for _, loc in differ}).values_list("pk", "code")
    )
    return [
        (skus[v], codes[loc], held.get((v, loc), 0), expected.get((v, loc), 0)) for v, loc in differ
    ]


@dataclass(frozen=True, slots=True)
class IncomingDrift:
    """A level whose incoming units are not what the transfers in transit still carry there."""

    sku: str
    location: str
    incoming: int
    expected: int


def stock_incoming_drift() -> list[IncomingDrift]:
    """Places where a level's incoming units differ from what the transfers in transit to it
    still carry (each line's quantity less what was received or written off), by variant then
    location: a level changed around the services, or a transfer whose units were never put
    in transit or never taken out of it. Should always be empty. Run it in the snapshot of the
    other reconciliation queries (``reconcile_stock`` does)."""
    carried = (
        TransferLine.objects.filter(transfer__status=TransferStatus.IN_TRANSIT)
        .order_by()
        .values_list("variant_id", "transfer__to_location_id")
        .annotate(units=Sum(F("quantity") - F("quantity_received") - F("quantity_lost")))
    )
    expected = {(variant, location): units for variant, location, units in carried if units}
    return [
        IncomingDrift(sku=sku, location=code, incoming=held, expected=expected)
        for sku, code, held, expected in _levels_differing("incoming", expected)
    ]


@dataclass(frozen=True, slots=True)
class TransferImbalance:
    """A transfer whose movements of one variant do not add up to nothing: units made or lost
    by shipping, receiving or cancelling it."""

    sku: str
    reference: str
    units: int


def stock_transfer_imbalance() -> list[TransferImbalance]:
    """The conservation of units: a transfer moves units, it never makes or loses any (a
    shortfall written off is a ``lost`` movement, not a transfer's). So for every variant and
    every transfer (the movements' reference), the transfer's movements add up to zero over
    on hand and incoming together: what left one shelf is in transit, and what left transit
    is on a shelf. Should always be empty; then units on hand everywhere plus units in transit
    change only by movements that are not a transfer's."""
    rows = (
        StockMovement.objects.filter(reason__in=TRANSFER_REASONS)
        .order_by()
        .values_list("variant__sku", "reference")
        .annotate(units=Sum(F("delta") + F("incoming_delta")))
        .exclude(units=0)
        .order_by("variant__sku", "reference")
    )
    return [TransferImbalance(sku=sku, reference=ref, units=units) for sku, ref, units in rows]


@dataclass(frozen=True, slots=True)
class GridCell:
    """One variant at one location: on hand, committed, available, incoming, and whether the
    level is low there (by its own threshold, else the variant's)."""

    on_hand: int = 0
    committed: int = 0
    incoming: int = 0
    low: bool = False
    stocked: bool = True  # False: no level there (never stocked, never set up)

    @property
    def available(self) -> int:
        return self.on_hand - self.committed


@dataclass(frozen=True, slots=True)
class GridRow:
    variant: Variant
    cells: list[GridCell]  # one per location of the grid, in its order

    @property
    def total(self) -> GridCell:
        return GridCell(
            on_hand=sum(cell.on_hand for cell in self.cells),
            committed=sum(cell.committed for cell in self.cells),
            incoming=sum(cell.incoming for cell in self.cells),
        )


@dataclass(frozen=True, slots=True)
class StockGrid:
    """A product's stock by size (rows, smallest first) and location (columns)."""

    locations: list[Location]
    rows: list[GridRow]


def product_stock_grid(variants: list[Variant]) -> StockGrid:
    """The grid of a product's ``variants`` (in the order given): every active location, and
    any archived one that still has units incoming or on hand. A variant with no level at a
    location has nothing there and is not marked low (it was never stocked there). Two
    queries: the levels, the locations."""
    levels = {
        (level.variant_id, level.location_id): level
        for level in StockLevel.objects.filter(variant__in=[v.pk for v in variants])
    }
    held = {
        location_id for (_, location_id), level in levels.items() if level.on_hand or level.incoming
    }
    locations = list(location_list().filter(Q(is_active=True) | Q(pk__in=held)))
    rows = []
    for variant in variants:
        cells = []
        for location in locations:
            level = levels.get((variant.pk, location.pk))
            if level is None:
                cells.append(GridCell(stocked=False))
                continue
            threshold = (
                variant.low_stock_threshold
                if level.low_stock_threshold is None
                else level.low_stock_threshold
            )
            cells.append(
                GridCell(
                    on_hand=level.on_hand,
                    committed=level.committed,
                    incoming=level.incoming,
                    low=level.available <= threshold,
                )
            )
        rows.append(GridRow(variant=variant, cells=cells))
    return StockGrid(locations=locations, rows=rows)
