"""Where stock is and what happened to it: locations, each variant's stock level at each
location (units on hand and units committed to open orders), and the ledger of every change of
either, with its reason and its actor.

The ledger's table keeps the name it had when the ledger lived in the catalog app (``catalog_stockmovement``):
the model moved to this app without a row being copied (see migration 0001).
"""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Coalesce, Greatest, Now, Upper
from django.utils import timezone

from catalog.fields import CodeField
from catalog.models import Product, Variant
from catalog.validators import MAX_QUANTITY, NOT_BLANK_PATTERN, validate_not_blank
from core.actors import NAME_MAX_LENGTH

# Upper-case letters, digits and inner hyphens: "MAIN", "STORE-01", "WEB".
LOCATION_CODE_MAX_LENGTH = 16
LOCATION_CODE_PATTERN = r"^[A-Z0-9](?:[A-Z0-9-]{0,14}[A-Z0-9])?$"
# The location every database starts with; orders and changes that name none happen here.
DEFAULT_LOCATION_CODE = "MAIN"


class LocationKind(models.TextChoices):
    WAREHOUSE = "warehouse", "Warehouse"
    STORE = "store", "Store"
    ONLINE = "online", "Online"


class Location(models.Model):
    """A place that holds stock: the warehouse, a shop, the web shop's stock. Never deleted once
    it has history (its movements and orders PROTECT it); archived instead, when empty."""

    code = CodeField(
        max_length=LOCATION_CODE_MAX_LENGTH,
        unique=True,
        validators=[RegexValidator(LOCATION_CODE_PATTERN, "Use A-Z, 0-9 and inner hyphens.")],
        help_text="Up to 16 upper-case letters, digits and hyphens, e.g. STORE-01.",
    )
    name = models.CharField(max_length=100, validators=[validate_not_blank])
    kind = models.CharField(max_length=16, choices=LocationKind.choices)
    is_active = models.BooleanField(
        "active", default=True, help_text="Archived locations hold no stock and take none."
    )
    is_default = models.BooleanField(
        "default",
        default=False,
        help_text="Where a request that names no location happens. Exactly one location is.",
    )
    api_keys = models.ManyToManyField(
        "api.ApiKey",
        blank=True,
        related_name="locations",
        verbose_name="bound API keys",
        help_text="Keys bound to locations (a shop's till) place orders and change stock only "
        "there; keys bound to none act anywhere. Every key reads stock everywhere.",
    )
    created_at = models.DateTimeField(auto_now_add=True, db_default=Now())
    updated_at = models.DateTimeField(auto_now=True, db_default=Now())

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(code__regex=LOCATION_CODE_PATTERN), name="stock_location_code_format"
            ),
            models.CheckConstraint(
                condition=Q(kind__in=LocationKind.values), name="stock_location_kind_valid"
            ),
            models.CheckConstraint(
                condition=Q(name__regex=NOT_BLANK_PATTERN), name="stock_location_name_not_blank"
            ),
            # At most one default (the services move it in one transaction, so there is always
            # one), and the default takes stock.
            models.UniqueConstraint(
                fields=["is_default"],
                condition=Q(is_default=True),
                name="stock_location_one_default",
            ),
            models.CheckConstraint(
                condition=Q(is_default=False) | Q(is_active=True),
                name="stock_location_default_is_active",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} ({self.name})"


class StockLevel(models.Model):
    """One variant at one location: units on hand (physically there) and units committed to open
    orders, not picked yet. What can be sold there is the difference, computed, never stored.

    Written only by the stock service (``stock.ledger``), under its variant's lock, together
    with the movement that explains it. The variant keeps the sums over every location as a
    cache for the catalog's reads (``Variant.quantity`` is what is available, ``committed``
    what is committed); ``reconcile_stock`` proves both against the levels and the ledger."""

    variant = models.ForeignKey(
        # A variant with stock has movements, which PROTECT it; only empty levels go with one.
        Variant,
        on_delete=models.CASCADE,
        related_name="stock_levels",
        db_index=False,  # the unique constraint leads with it
    )
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="stock_levels")
    on_hand = models.IntegerField(default=0)
    committed = models.IntegerField(default=0)
    incoming = models.IntegerField(
        default=0,
        help_text="Units shipped here by transfers and not received yet: on hand nowhere.",
    )
    # What staff set for this place (``stock.services.stock_level_settings_set``); never
    # touched by a stock change.
    low_stock_threshold = models.IntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(MAX_QUANTITY)],
        help_text="At or below this many units available here the level is low. Empty: the "
        "variant's own low-stock threshold applies.",
    )
    target = models.IntegerField(
        "target (par level)",
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_QUANTITY)],
        help_text="The units available (plus incoming) that replenishing brings this level up "
        "to; above the low-stock threshold. Empty: one more than the threshold.",
    )
    updated_at = models.DateTimeField(auto_now=True, db_default=Now())

    class Meta:
        ordering = ["variant_id", "location_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["variant", "location"], name="stock_level_one_per_location"
            ),
            models.CheckConstraint(
                condition=Q(committed__gte=0) & Q(committed__lte=F("on_hand")),
                name="stock_level_committed_within_on_hand",
            ),
            models.CheckConstraint(
                condition=Q(incoming__gte=0), name="stock_level_incoming_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(low_stock_threshold__isnull=True) | Q(low_stock_threshold__gte=0),
                name="stock_level_threshold_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(target__isnull=True) | Q(target__gte=1),
                name="stock_level_target_positive",
            ),
            # A target at or below the threshold would leave the level low once replenished.
            models.CheckConstraint(
                condition=Q(target__isnull=True)
                | Q(low_stock_threshold__isnull=True)
                | Q(target__gt=F("low_stock_threshold")),
                name="stock_level_target_above_threshold",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.on_hand} on hand, {self.committed} committed"

    @property
    def available(self) -> int:
        return self.on_hand - self.committed

    @property
    def effective_low_stock_threshold(self) -> int:
        """The level's own threshold, else its variant's (``EFFECTIVE_THRESHOLD`` in a query)."""
        if self.low_stock_threshold is not None:
            return self.low_stock_threshold
        return self.variant.low_stock_threshold

    @property
    def effective_target(self) -> int:
        """The level's own target, else one more than its threshold: the fewest units at which
        it is not low, and never fewer (a variant's threshold raised above a level's target
        since it was set would otherwise leave the level low with nothing to replenish).
        ``EFFECTIVE_TARGET`` in a query."""
        floor = self.effective_low_stock_threshold + 1
        return floor if self.target is None else max(self.target, floor)

    @property
    def is_low(self) -> bool:
        return self.available <= self.effective_low_stock_threshold


# The same rules as the level's properties, for queries of levels (annotate or filter with
# them; the variant is joined).
EFFECTIVE_THRESHOLD = Coalesce(F("low_stock_threshold"), F("variant__low_stock_threshold"))
EFFECTIVE_TARGET = Greatest(Coalesce(F("target"), EFFECTIVE_THRESHOLD + 1), EFFECTIVE_THRESHOLD + 1)


class MovementReason(models.TextChoices):
    INITIAL = "initial", "Opening quantity"
    RECEIVED = "received", "Received (delivery)"
    RETURNED = "returned", "Returned by a customer"
    DAMAGED = "damaged", "Damaged"
    LOST = "lost", "Lost or stolen"
    COUNT_CORRECTION = "count_correction", "Count correction"
    CORRECTION = "correction", "Correction"
    ORDER_PLACED = "order_placed", "Order placed (committed)"
    SALE = "sale", "Sale (taken off the shelf)"
    ORDER_CANCELLED = "order_cancelled", "Order cancelled"
    TRANSFER_OUT = "transfer_out", "Transfer shipped"
    TRANSFER_IN = "transfer_in", "Transfer received"
    TRANSFER_CANCELLED = "transfer_cancelled", "Transfer cancelled"


# Reasons that only ever add units on hand, and those that only ever take them.
INCREASING_REASONS = (MovementReason.INITIAL, MovementReason.RECEIVED, MovementReason.RETURNED)
DECREASING_REASONS = (MovementReason.DAMAGED, MovementReason.LOST, MovementReason.SALE)
# The only reasons that change committed units: orders commit at placement, and release them
# when they are fulfilled (a sale) or cancelled.
COMMITTING_REASONS = (
    MovementReason.ORDER_PLACED,
    MovementReason.SALE,
    MovementReason.ORDER_CANCELLED,
)
# The reasons of a transfer's movements, the only ones that move units between on hand and
# incoming; ``lost`` may also write off units in transit (a transfer closed short).
TRANSFER_REASONS = (
    MovementReason.TRANSFER_OUT,
    MovementReason.TRANSFER_IN,
    MovementReason.TRANSFER_CANCELLED,
)
INCOMING_REASONS = (*TRANSFER_REASONS, MovementReason.LOST)


class ActorKind(models.TextChoices):
    USER = "user", "Staff user"
    API_KEY = "api_key", "API key"
    SYSTEM = "system", "System"


# The ledger's text fields, which the services and serializers check before the database does.
ACTOR_MAX_LENGTH = NAME_MAX_LENGTH
NOTE_MAX_LENGTH = 500
REFERENCE_MAX_LENGTH = 100


class StockMovement(models.Model):
    """One change of a stock level (units on hand, units committed, or both), and why.
    Append-only: the database refuses updates and deletes of these rows, and a variant or a
    location with movements cannot be deleted.

    ``delta`` and ``quantity_after`` are the units on hand (the names clients knew before there
    were locations); ``committed_delta`` and ``committed_after`` the units committed;
    ``incoming_delta`` and ``incoming_after`` the units on their way there by transfer.

    A transfer writes two movements per line when it ships: ``transfer_out`` at the source
    (units leave on hand) and ``transfer_out`` at the destination (the same units arrive as
    incoming), so that units on hand everywhere plus units in transit change only by the
    movements that are not a transfer's (``reconcile_stock`` proves it)."""

    # Both foreign keys are indexed by the composite indexes below, which lead with them.
    variant = models.ForeignKey(
        Variant, on_delete=models.PROTECT, related_name="movements", db_index=False
    )
    # The variant's product, copied (a variant never changes product) so that a product's
    # history, newest first, is one index scan however long the ledger grows.
    product = models.ForeignKey(
        Product, on_delete=models.PROTECT, related_name="stock_movements", db_index=False
    )
    location = models.ForeignKey(
        Location, on_delete=models.PROTECT, related_name="movements", db_index=False
    )
    delta = models.IntegerField(help_text="The signed change of the units on hand.")
    quantity_after = models.IntegerField(help_text="Units on hand at the location after it.")
    committed_delta = models.IntegerField(
        default=0, help_text="The signed change of the units committed to open orders."
    )
    committed_after = models.IntegerField(
        default=0, help_text="Units committed at the location after it."
    )
    incoming_delta = models.IntegerField(
        default=0, help_text="The signed change of the units in transit to the location."
    )
    incoming_after = models.IntegerField(
        default=0, help_text="Units in transit to the location after it."
    )
    reason = models.CharField(max_length=32, choices=MovementReason.choices)
    actor_kind = models.CharField(max_length=16, choices=ActorKind.choices)
    actor = models.CharField(
        max_length=ACTOR_MAX_LENGTH, help_text="The user's or the API key's name."
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="stock_movements",
        help_text="Users with stock history are deactivated, not deleted.",
    )
    api_key = models.ForeignKey(
        "api.ApiKey",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="stock_movements",
        help_text="Keys with stock history are revoked, not deleted.",
    )
    note = models.CharField(max_length=NOTE_MAX_LENGTH, blank=True)
    reference = models.CharField(
        max_length=REFERENCE_MAX_LENGTH,
        blank=True,
        help_text="What caused it, e.g. an order number.",
    )
    created_at = models.DateTimeField(default=timezone.now, db_default=Now())

    class Meta:
        db_table = "catalog_stockmovement"
        ordering = ["-id"]
        indexes = [
            # Each list filter with the newest first: index scans, also on millions of rows.
            models.Index(fields=["variant", "-id"], name="catalog_move_variant_idx"),
            models.Index(fields=["product", "-id"], name="catalog_move_product_idx"),
            models.Index(fields=["location", "-id"], name="stock_move_location_idx"),
            models.Index(fields=["reason", "-id"], name="catalog_move_reason_idx"),
            # The actor filter matches in any case, as every query value does.
            models.Index(Upper("actor"), F("id").desc(), name="catalog_move_actor_ci_idx"),
            models.Index(fields=["created_at"], name="catalog_move_created_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(reason__in=MovementReason.values), name="catalog_move_reason_valid"
            ),
            models.CheckConstraint(
                condition=Q(actor_kind__in=ActorKind.values), name="catalog_move_actor_kind_valid"
            ),
            models.CheckConstraint(
                condition=Q(quantity_after__gte=0), name="catalog_move_quantity_after_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(committed_after__gte=0) & Q(committed_after__lte=F("quantity_after")),
                name="stock_move_committed_after_within_on_hand",
            ),
            models.CheckConstraint(
                # Only a count may find the level unchanged.
                condition=~Q(delta=0)
                | ~Q(committed_delta=0)
                | ~Q(incoming_delta=0)
                | Q(reason=MovementReason.COUNT_CORRECTION),
                name="stock_move_changes_something",
            ),
            models.CheckConstraint(
                condition=Q(committed_delta=0) | Q(reason__in=COMMITTING_REASONS),
                name="stock_move_only_orders_commit",
            ),
            models.CheckConstraint(
                condition=~Q(reason=MovementReason.ORDER_PLACED)
                | Q(delta=0, committed_delta__gt=0),
                name="stock_move_placing_commits",
            ),
            models.CheckConstraint(
                # A cancellation releases what the order committed; before there were
                # locations, it put back on hand what the order had taken at placement.
                condition=~Q(reason=MovementReason.ORDER_CANCELLED)
                | Q(delta=0, committed_delta__lt=0)
                | Q(delta__gt=0, committed_delta=0),
                name="stock_move_cancelling_releases",
            ),
            models.CheckConstraint(
                # A fulfilment takes what the order committed; a till sale, and every sale
                # before there were locations, takes units that were never committed.
                condition=~Q(reason=MovementReason.SALE)
                | Q(committed_delta=F("delta"))
                | Q(committed_delta=0),
                name="stock_move_sale_takes_committed",
            ),
            models.CheckConstraint(
                condition=~Q(reason__in=INCREASING_REASONS) | Q(delta__gt=0),
                name="catalog_move_increasing_reason_adds",
            ),
            models.CheckConstraint(
                # Units lost on the shelf, or in transit (a transfer closed short).
                condition=~Q(reason__in=DECREASING_REASONS)
                | Q(delta__lt=0, incoming_delta=0)
                | Q(reason=MovementReason.LOST, delta=0, incoming_delta__lt=0),
                name="catalog_move_decreasing_reason_takes",
            ),
            models.CheckConstraint(
                condition=Q(incoming_after__gte=0), name="stock_move_incoming_after_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(incoming_delta=0) | Q(reason__in=INCOMING_REASONS),
                name="stock_move_only_transfers_in_transit",
            ),
            models.CheckConstraint(
                # Shipped: leaves the source's shelf, or arrives as incoming at the destination.
                condition=~Q(reason=MovementReason.TRANSFER_OUT)
                | Q(delta__lt=0, incoming_delta=0)
                | Q(delta=0, incoming_delta__gt=0),
                name="stock_move_transfer_out",
            ),
            models.CheckConstraint(
                # Received: incoming becomes on hand, unit for unit.
                condition=~Q(reason=MovementReason.TRANSFER_IN)
                | Q(delta__gt=0, incoming_delta=-F("delta")),
                name="stock_move_transfer_in",
            ),
            models.CheckConstraint(
                # Cancelled in transit: back on the source's shelf, no longer incoming at the
                # destination.
                condition=~Q(reason=MovementReason.TRANSFER_CANCELLED)
                | Q(delta__gt=0, incoming_delta=0)
                | Q(delta=0, incoming_delta__lt=0),
                name="stock_move_transfer_cancelled",
            ),
            models.CheckConstraint(
                condition=~Q(reason=MovementReason.INITIAL) | Q(quantity_after=F("delta")),
                name="catalog_move_initial_is_opening",
            ),
            models.CheckConstraint(
                condition=Q(actor__regex=NOT_BLANK_PATTERN), name="catalog_move_actor_not_blank"
            ),
        ]

    def __str__(self) -> str:
        text = f"{self.delta:+d} {self.reason} → {self.quantity_after}"
        if self.committed_delta:
            text += f" ({self.committed_delta:+d} committed → {self.committed_after})"
        if self.incoming_delta:
            text += f" ({self.incoming_delta:+d} incoming → {self.incoming_after})"
        return text


class TransferStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    IN_TRANSIT = "in_transit", "In transit"
    RECEIVED = "received", "Received"
    CANCELLED = "cancelled", "Cancelled"


class Transfer(models.Model):
    """Stock on its way from one location to another: a draft, then shipped (its units leave
    the source's shelf and are incoming at the destination), received line by line (they go on
    hand there), or closed short (what never arrived is written off as lost in transit), or
    cancelled. Written only by ``stock.transfers``; never deleted once shipped."""

    number = models.CharField(max_length=16, unique=True, editable=False)
    status = models.CharField(
        max_length=16, choices=TransferStatus.choices, default=TransferStatus.DRAFT
    )
    from_location = models.ForeignKey(
        Location, on_delete=models.PROTECT, related_name="transfers_out"
    )
    to_location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="transfers_in")
    note = models.CharField(max_length=NOTE_MAX_LENGTH, blank=True)
    reference = models.CharField(
        max_length=REFERENCE_MAX_LENGTH,
        blank=True,
        help_text="The caller's own reference, e.g. a customer's request.",
    )
    created_by = models.CharField(
        max_length=ACTOR_MAX_LENGTH, help_text="The user's or the API key's name."
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="stock_transfers",
    )
    api_key = models.ForeignKey(
        "api.ApiKey",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="stock_transfers",
    )
    created_at = models.DateTimeField(default=timezone.now, db_default=Now())
    updated_at = models.DateTimeField(auto_now=True, db_default=Now())
    shipped_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(
        null=True, blank=True, help_text="When every unit arrived, or the rest was written off."
    )
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["status", "-id"], name="stock_transfer_status_idx"),
            models.Index(fields=["from_location", "-id"], name="stock_transfer_from_idx"),
            models.Index(fields=["to_location", "-id"], name="stock_transfer_to_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=TransferStatus.values), name="stock_transfer_status_valid"
            ),
            models.CheckConstraint(
                condition=~Q(from_location=F("to_location")),
                name="stock_transfer_between_two_places",
            ),
            models.CheckConstraint(
                condition=Q(created_by__regex=NOT_BLANK_PATTERN),
                name="stock_transfer_created_by_not_blank",
            ),
            # Each timestamp is set exactly when the transfer reached its state.
            models.CheckConstraint(
                condition=Q(status=TransferStatus.DRAFT, shipped_at__isnull=True)
                | Q(status=TransferStatus.CANCELLED)
                | Q(
                    status__in=[TransferStatus.IN_TRANSIT, TransferStatus.RECEIVED],
                    shipped_at__isnull=False,
                ),
                name="stock_transfer_shipped_at_matches_status",
            ),
            models.CheckConstraint(
                condition=Q(status=TransferStatus.RECEIVED, received_at__isnull=False)
                | (~Q(status=TransferStatus.RECEIVED) & Q(received_at__isnull=True)),
                name="stock_transfer_received_at_matches_status",
            ),
            models.CheckConstraint(
                condition=Q(status=TransferStatus.CANCELLED, cancelled_at__isnull=False)
                | (~Q(status=TransferStatus.CANCELLED) & Q(cancelled_at__isnull=True)),
                name="stock_transfer_cancelled_at_matches_status",
            ),
        ]

    def __str__(self) -> str:
        return self.number


class TransferLine(models.Model):
    """One variant of a transfer: how many units were sent, how many arrived so far, and how
    many were written off as lost in transit when the transfer was closed short."""

    transfer = models.ForeignKey(Transfer, on_delete=models.CASCADE, related_name="lines")
    variant = models.ForeignKey(Variant, on_delete=models.PROTECT, related_name="transfer_lines")
    quantity = models.PositiveIntegerField()
    quantity_received = models.PositiveIntegerField(default=0)
    quantity_lost = models.PositiveIntegerField(
        default=0, help_text="Units that never arrived, written off when the transfer closed."
    )

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["transfer", "variant"], name="stock_transfer_line_one_per_variant"
            ),
            models.CheckConstraint(
                condition=Q(quantity__gt=0), name="stock_transfer_line_quantity_positive"
            ),
            models.CheckConstraint(
                condition=Q(quantity_received__gte=0)
                & Q(quantity_lost__gte=0)
                & Q(quantity__gte=F("quantity_received") + F("quantity_lost")),
                name="stock_transfer_line_within_quantity",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} of variant {self.variant_id}"

    @property
    def in_transit(self) -> int:
        """Units shipped and neither received nor written off (of a shipped transfer)."""
        return self.quantity - self.quantity_received - self.quantity_lost


# Counts taken while the shop stays open


class CountStatus(models.TextChoices):
    OPEN = "open", "Open"
    APPLIED = "applied", "Applied"
    CANCELLED = "cancelled", "Cancelled"


class CountSession(models.Model):
    """A count of the shelves at one location, taken while the shop sells on (``stock.counts``).

    Started with a snapshot of each variant's units on hand there (its lines), optionally only
    of one product's variants; staff then enter what they count, and applying it corrects each
    counted variant by what the shelf holds beyond what the ledger expected when the line was
    counted. At most one session is open at a location: two would correct the same units twice.
    """

    location = models.ForeignKey(
        Location, on_delete=models.PROTECT, related_name="count_sessions", db_index=False
    )
    product = models.ForeignKey(
        Product,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="count_sessions",
        limit_choices_to={"is_active": True},
        help_text="Count only this product's variants; every variant at the location if empty.",
    )
    status = models.CharField(max_length=16, choices=CountStatus.choices, default=CountStatus.OPEN)
    zero_uncounted = models.BooleanField(
        "zero the rest",
        default=False,
        help_text="Applying sets every variant of the session that was not counted to 0 on "
        "hand; otherwise those are left alone.",
    )
    note = models.CharField(max_length=NOTE_MAX_LENGTH, blank=True)
    # Who started it, as a movement names its actor.
    actor_kind = models.CharField(max_length=16, choices=ActorKind.choices)
    actor = models.CharField(max_length=ACTOR_MAX_LENGTH)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="count_sessions",
    )
    api_key = models.ForeignKey(
        "api.ApiKey",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="count_sessions",
    )
    created_at = models.DateTimeField(default=timezone.now, db_default=Now())
    applied_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            # The list filtered by location, newest first.
            models.Index(fields=["location", "-id"], name="stock_count_location_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["location"],
                condition=Q(status=CountStatus.OPEN),
                name="stock_count_one_open_per_location",
            ),
            models.CheckConstraint(
                condition=Q(status__in=CountStatus.values), name="stock_count_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(actor_kind__in=ActorKind.values),
                name="stock_count_actor_kind_valid",
            ),
            models.CheckConstraint(
                condition=Q(actor__regex=NOT_BLANK_PATTERN), name="stock_count_actor_not_blank"
            ),
            # The time of each end, exactly when the session ended that way.
            models.CheckConstraint(
                condition=Q(status=CountStatus.APPLIED, applied_at__isnull=False)
                | (~Q(status=CountStatus.APPLIED) & Q(applied_at__isnull=True)),
                name="stock_count_applied_at_when_applied",
            ),
            models.CheckConstraint(
                condition=Q(status=CountStatus.CANCELLED, cancelled_at__isnull=False)
                | (~Q(status=CountStatus.CANCELLED) & Q(cancelled_at__isnull=True)),
                name="stock_count_cancelled_at_when_cancelled",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference} at {self.location.code} ({self.status})"

    @property
    def reference(self) -> str:
        """What its movements carry as their reference."""
        return f"COUNT-{self.pk}"


class CountLine(models.Model):
    """One variant of a count session: its units on hand when the session started, and, once
    counted, what the shelf held and what the ledger held there at that moment."""

    session = models.ForeignKey(CountSession, on_delete=models.CASCADE, related_name="lines")
    variant = models.ForeignKey(
        Variant, on_delete=models.PROTECT, related_name="count_lines", db_index=False
    )
    snapshot_on_hand = models.IntegerField(
        help_text="Units on hand at the location when the session started (or when the "
        "variant was first scanned, if it was not in the snapshot)."
    )
    counted = models.IntegerField(null=True, blank=True, help_text="Units counted on the shelf.")
    expected_at_entry = models.IntegerField(
        null=True,
        blank=True,
        help_text="Units on hand at the location when the count was entered: the correction "
        "is counted minus this.",
    )
    counted_at = models.DateTimeField(null=True, blank=True)
    correction = models.IntegerField(
        null=True, blank=True, help_text="The units the applied session added (or took)."
    )

    class Meta:
        ordering = ["session_id", "variant_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["session", "variant"], name="stock_count_line_one_per_variant"
            ),
            models.CheckConstraint(
                condition=Q(snapshot_on_hand__gte=0), name="stock_count_line_snapshot_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(counted__isnull=True) | Q(counted__gte=0),
                name="stock_count_line_counted_not_negative",
            ),
            # A count comes with what the ledger held when it was entered, and when.
            models.CheckConstraint(
                condition=Q(
                    counted__isnull=True, expected_at_entry__isnull=True, counted_at__isnull=True
                )
                | Q(
                    counted__isnull=False,
                    expected_at_entry__gte=0,
                    counted_at__isnull=False,
                ),
                name="stock_count_line_counted_with_expected",
            ),
        ]

    def __str__(self) -> str:
        counted = "not counted" if self.counted is None else f"{self.counted} counted"
        return f"{counted} (snapshot {self.snapshot_on_hand})"
