from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Now, Upper
from django.utils import timezone

from catalog.models import Size, Variant
from core.actors import NAME_MAX_LENGTH
from stock.models import Location

# The text fields' lengths, which the serializers check before the database does.
NOTE_MAX_LENGTH = 500
REFERENCE_MAX_LENGTH = 100


class OrderStatus(models.TextChoices):
    PLACED = "placed", "Placed"
    PAID = "paid", "Paid"
    FULFILLED = "fulfilled", "Fulfilled"
    CANCELLED = "cancelled", "Cancelled"


class Order(models.Model):
    """An order placed by a client app (its API key) or by a staff user. Prices and totals come
    from the server; the lines keep what was sold at what price, whatever the catalog does
    later. Orders are never deleted: an order that did not happen is cancelled."""

    # Its lines, id order, where selectors.order_list() (Prefetch to_attr) or order_place put
    # them; not a field.
    ordered_lines: list["OrderLine"]

    number = models.CharField(max_length=16, unique=True, editable=False)
    status = models.CharField(
        max_length=16, choices=OrderStatus.choices, default=OrderStatus.PLACED
    )
    customer_reference = models.CharField(max_length=REFERENCE_MAX_LENGTH, blank=True)
    note = models.CharField(max_length=NOTE_MAX_LENGTH, blank=True)
    location = models.ForeignKey(
        Location,
        on_delete=models.PROTECT,
        related_name="orders",
        help_text="Where its units are committed, and taken from when it is fulfilled.",
    )
    currency = models.CharField(max_length=3)
    total = models.DecimalField(max_digits=12, decimal_places=2)
    api_key = models.ForeignKey(
        "api.ApiKey",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="orders",
        help_text="The client app that placed it; it alone sees the order over the API.",
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="orders",
    )
    placed_by = models.CharField(
        max_length=NAME_MAX_LENGTH, help_text="The API key's or the user's name."
    )
    created_at = models.DateTimeField(default=timezone.now, db_default=Now())
    updated_at = models.DateTimeField(auto_now=True, db_default=Now())
    paid_at = models.DateTimeField(null=True, blank=True)
    fulfilled_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        permissions = [("return_order", "Can record returns of orders")]
        indexes = [
            models.Index(fields=["api_key", "-id"], name="orders_order_api_key_idx"),
            models.Index(fields=["status", "created_at"], name="orders_order_status_idx"),
            # The filter matches in any case, as every query value does.
            models.Index(Upper("customer_reference"), name="orders_order_customer_ci_idx"),
            # The sales report reads orders by the day they were paid, and paid orders by the
            # day they were cancelled (orders_order_status_idx serves the unpaid ones).
            models.Index(
                fields=["paid_at"],
                condition=Q(paid_at__isnull=False),
                name="orders_order_paid_idx",
            ),
            models.Index(
                fields=["cancelled_at"],
                condition=Q(paid_at__isnull=False, cancelled_at__isnull=False),
                name="orders_order_paid_cancel_idx",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=OrderStatus.values), name="orders_order_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(total__gte=Decimal("0")), name="orders_order_total_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(api_key__isnull=False) | Q(user__isnull=False),
                name="orders_order_has_an_owner",
            ),
            # Each timestamp is set exactly when the order reached its state.
            models.CheckConstraint(
                condition=(Q(status=OrderStatus.CANCELLED) & Q(cancelled_at__isnull=False))
                | (~Q(status=OrderStatus.CANCELLED) & Q(cancelled_at__isnull=True)),
                name="orders_order_cancelled_at_matches_status",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=[OrderStatus.PAID, OrderStatus.FULFILLED])
                | Q(paid_at__isnull=False),
                name="orders_order_paid_at_when_paid",
            ),
            models.CheckConstraint(
                condition=~Q(status=OrderStatus.FULFILLED) | Q(fulfilled_at__isnull=False),
                name="orders_order_fulfilled_at_when_fulfilled",
            ),
        ]

    def __str__(self) -> str:
        return self.number


class OrderLine(models.Model):
    """What was sold: a snapshot of the variant (SKU, product name, size) and its unit price at
    the time, so catalog edits never rewrite an order."""

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="lines")
    variant = models.ForeignKey(Variant, on_delete=models.PROTECT, related_name="order_lines")
    sku = models.CharField("SKU", max_length=64)
    product_name = models.CharField(max_length=200)
    size = models.CharField(max_length=16, choices=Size.choices)
    quantity = models.PositiveIntegerField()
    unit_price = models.DecimalField(max_digits=10, decimal_places=2)
    line_total = models.GeneratedField(
        expression=F("quantity") * F("unit_price"),
        output_field=models.DecimalField(max_digits=12, decimal_places=2),
        db_persist=True,
    )
    returned_quantity = models.PositiveIntegerField(
        default=0, help_text="How many of these came back (see the order's returns)."
    )

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["order", "variant"], name="orders_line_variant_once"),
            models.CheckConstraint(
                condition=Q(quantity__gt=0), name="orders_line_quantity_positive"
            ),
            models.CheckConstraint(
                condition=Q(unit_price__gt=Decimal("0")), name="orders_line_unit_price_positive"
            ),
            models.CheckConstraint(
                condition=Q(returned_quantity__gte=0) & Q(returned_quantity__lte=F("quantity")),
                name="orders_line_returned_at_most_sold",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.sku}"


class OrderReturn(models.Model):
    """Lines of a fulfilled order that came back, restocked through the ledger, with the refund
    owed at the prices they were sold at."""

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="returns")
    refund_total = models.DecimalField(max_digits=12, decimal_places=2)
    note = models.CharField(max_length=NOTE_MAX_LENGTH, blank=True)
    recorded_by = models.CharField(max_length=NAME_MAX_LENGTH)
    created_at = models.DateTimeField(default=timezone.now, db_default=Now())

    class Meta:
        ordering = ["id"]
        # The sales report reads returns by the day they were recorded.
        indexes = [models.Index(fields=["created_at"], name="orders_return_created_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(refund_total__gt=Decimal("0")), name="orders_return_refund_positive"
            )
        ]

    def __str__(self) -> str:
        return f"Return {self.pk} of {self.order_id}"


class OrderReturnLine(models.Model):
    order_return = models.ForeignKey(OrderReturn, on_delete=models.PROTECT, related_name="lines")
    line = models.ForeignKey(OrderLine, on_delete=models.PROTECT, related_name="return_lines")
    quantity = models.PositiveIntegerField()
    refund_amount = models.DecimalField(max_digits=12, decimal_places=2)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gt=0), name="orders_return_line_quantity_positive"
            ),
            models.CheckConstraint(
                condition=Q(refund_amount__gt=Decimal("0")),
                name="orders_return_line_refund_positive",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x line {self.line_id}"
