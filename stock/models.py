"""The stock ledger: every change of a variant's quantity, with its reason and its actor.

The table keeps the name it had when the ledger lived in the catalog app (``catalog_stockmovement``):
the model moved to this app without a row being copied (see migration 0001).
"""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Now, Upper
from django.utils import timezone

from catalog.models import Product, Variant
from catalog.validators import NOT_BLANK_PATTERN
from core.actors import NAME_MAX_LENGTH


class MovementReason(models.TextChoices):
    INITIAL = "initial", "Opening quantity"
    RECEIVED = "received", "Received (delivery)"
    RETURNED = "returned", "Returned by a customer"
    DAMAGED = "damaged", "Damaged"
    LOST = "lost", "Lost or stolen"
    COUNT_CORRECTION = "count_correction", "Count correction"
    CORRECTION = "correction", "Correction"
    SALE = "sale", "Sale"
    ORDER_CANCELLED = "order_cancelled", "Order cancelled"


# Reasons that only ever add stock, and those that only ever take it.
INCREASING_REASONS = (
    MovementReason.INITIAL,
    MovementReason.RECEIVED,
    MovementReason.RETURNED,
    MovementReason.ORDER_CANCELLED,
)
DECREASING_REASONS = (MovementReason.DAMAGED, MovementReason.LOST, MovementReason.SALE)


class ActorKind(models.TextChoices):
    USER = "user", "Staff user"
    API_KEY = "api_key", "API key"
    SYSTEM = "system", "System"


# The ledger's text fields, which the services and serializers check before the database does.
ACTOR_MAX_LENGTH = NAME_MAX_LENGTH
NOTE_MAX_LENGTH = 500
REFERENCE_MAX_LENGTH = 100


class StockMovement(models.Model):
    """One change of a variant's quantity, and why. Append-only: the database refuses updates
    and deletes of these rows, and a variant with movements cannot be deleted."""

    # Both foreign keys are indexed by the composite indexes below, which lead with them.
    variant = models.ForeignKey(
        Variant, on_delete=models.PROTECT, related_name="movements", db_index=False
    )
    # The variant's product, copied (a variant never changes product) so that a product's
    # history, newest first, is one index scan however long the ledger grows.
    product = models.ForeignKey(
        Product, on_delete=models.PROTECT, related_name="stock_movements", db_index=False
    )
    delta = models.IntegerField(help_text="The signed change of the quantity.")
    quantity_after = models.IntegerField()
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
                # Only a count may find the quantity unchanged.
                condition=~Q(delta=0) | Q(reason=MovementReason.COUNT_CORRECTION),
                name="catalog_move_delta_not_zero",
            ),
            models.CheckConstraint(
                condition=~Q(reason__in=INCREASING_REASONS) | Q(delta__gt=0),
                name="catalog_move_increasing_reason_adds",
            ),
            models.CheckConstraint(
                condition=~Q(reason__in=DECREASING_REASONS) | Q(delta__lt=0),
                name="catalog_move_decreasing_reason_takes",
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
        return f"{self.delta:+d} {self.reason} → {self.quantity_after}"
