"""The outbox and the webhooks it feeds.

An ``Event`` is written in the transaction of the change it tells of, with the task that fans it
out to the endpoints (``events.tasks``): both commit with the change or neither does. Each
subscribed endpoint then gets a ``Delivery`` of the event, tried until it succeeds or its
attempts run out; every try is a ``DeliveryAttempt``.
"""

import base64
import secrets
import uuid
from datetime import datetime

from django.db import models
from django.db.models import Q
from django.utils import timezone

# Every type an event can have. Receivers subscribe to these (or to "*").
EVENT_TYPES = (
    "stock_level.updated",
    "variant.low_stock",
    "variant.out_of_stock",
    "variant.back_in_stock",
    "order.placed",
    "order.paid",
    "order.fulfilled",
    "order.cancelled",
    "order.returned",
    "transfer.shipped",
    "transfer.received",
    "product.created",
    "product.updated",
    "product.archived",
)
EVENT_TYPE_CHOICES = [(name, name) for name in EVENT_TYPES]
ALL_EVENTS = "*"
EVENT_TYPE_MAX_LENGTH = 40
URL_MAX_LENGTH = 2000
# The first bytes of a receiver's answer that an attempt keeps.
RESPONSE_KEPT_BYTES = 1024


class Event(models.Model):
    """Something that happened, as receivers learn of it. ``uuid`` is the event's id for them
    (the ``webhook-id`` of every delivery, the same on each retry); the integer id orders the
    outbox and the API's pages."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    type = models.CharField(max_length=EVENT_TYPE_MAX_LENGTH)
    occurred_at = models.DateTimeField(default=timezone.now)
    data = models.JSONField()
    # Per stock level, only growing: a receiver drops an update older than one it has.
    sequence = models.BigIntegerField(null=True, blank=True)
    # Events with the same key, emitted while the first is not yet sent out, are coalesced into
    # it (the latest data wins): a burst of changes to one stock level gives one event.
    key = models.CharField(max_length=200, blank=True, default="")
    # When the event was handed to its endpoints (its deliveries written); none before.
    dispatched_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["type", "-id"], name="events_event_type_idx"),
            models.Index(fields=["occurred_at"], name="events_event_occurred_idx"),
            # The events not handed out yet: few at any time (the stale ones' sweep reads them).
            models.Index(
                fields=["id"],
                name="events_event_undispatched_idx",
                condition=Q(dispatched_at__isnull=True),
            ),
            models.Index(
                fields=["key"],
                name="events_event_pending_key_idx",
                condition=Q(dispatched_at__isnull=True) & ~Q(key=""),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(type__in=EVENT_TYPES), name="events_event_type_known"
            ),
            models.CheckConstraint(
                condition=Q(sequence__isnull=True) | Q(sequence__gte=1),
                name="events_event_sequence_positive",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.uuid}"

    def payload(self) -> dict[str, object]:
        """The body every endpoint receives."""
        body: dict[str, object] = {
            "id": str(self.uuid),
            "type": self.type,
            "occurred_at": self.occurred_at.isoformat().replace("+00:00", "Z"),
            "data": self.data,
        }
        if self.sequence is not None:
            body["sequence"] = self.sequence
        return body


def new_secret() -> str:
    """A signing secret in the Standard Webhooks form: ``whsec_`` and 32 random bytes, base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


class WebhookEndpoint(models.Model):
    """A receiver's URL and the events it wants. The secret signs every delivery; after a
    rotation the previous one signs alongside it until ``previous_secret_expires_at``."""

    url = models.URLField(max_length=URL_MAX_LENGTH)
    # Event types, or ["*"] for all of them.
    events = models.JSONField(default=list)
    is_active = models.BooleanField(default=True)
    description = models.CharField(max_length=200, blank=True, default="")
    secret = models.CharField(max_length=100, default=new_secret, editable=False)
    previous_secret = models.CharField(max_length=100, blank=True, default="", editable=False)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Since when every delivery to it has failed (none: the last one succeeded); a day of that
    # and it is disabled (``disabled_at``, and ``is_active`` off) until someone turns it on.
    failing_since = models.DateTimeField(null=True, blank=True, editable=False)
    disabled_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Since when its attempts have been failing or slow (none: the last one succeeded in time).
    # While degraded, its deliveries are made by the degraded queue's workers (events.tasks).
    degraded_since = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "webhook endpoint"
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(url__startswith="https://") | Q(url__startswith="http://"),
                name="events_endpoint_url_http",
            ),
            models.CheckConstraint(
                condition=Q(secret__startswith="whsec_"),  # noqa: S106  (a prefix, not a secret)
                name="events_endpoint_secret_form",
            ),
            models.CheckConstraint(
                condition=(Q(previous_secret="") & Q(previous_secret_expires_at__isnull=True))
                | (~Q(previous_secret="") & Q(previous_secret_expires_at__isnull=False)),
                name="events_endpoint_previous_secret_expires",
            ),
            models.CheckConstraint(
                condition=Q(disabled_at__isnull=True) | Q(is_active=False),
                name="events_endpoint_disabled_inactive",
            ),
        ]

    def __str__(self) -> str:
        return self.url

    def subscribes_to(self, event_type: str) -> bool:
        return ALL_EVENTS in self.events or event_type in self.events

    def signing_secrets(self, *, at: datetime | None = None) -> list[str]:
        """The secrets that sign now: the current one, and the previous one for a day after a
        rotation, so a receiver can switch over without missing a delivery."""
        at = at or timezone.now()
        secrets_now = [self.secret]
        expires = self.previous_secret_expires_at
        if self.previous_secret and expires is not None and expires > at:
            secrets_now.append(self.previous_secret)
        return secrets_now


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class Delivery(models.Model):
    """One event for one endpoint. While pending, ``next_attempt_at`` is when it may be tried
    (again): a worker claims an attempt by moving it to the retry time in one conditional
    UPDATE, so two workers never make the same attempt, and an attempt whose worker died is
    simply tried again at that time."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries")
    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    status = models.CharField(
        max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    # Attempts made in all, and the most it may have (more after each redelivery).
    attempts = models.PositiveSmallIntegerField(default=0)
    max_attempts = models.PositiveSmallIntegerField(default=7)
    next_attempt_at = models.DateTimeField(null=True, blank=True, default=timezone.now)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "deliveries"
        ordering = ["-id"]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="events_delivery_due_idx",
                condition=Q(status="pending"),
            ),
            models.Index(fields=["endpoint", "-id"], name="events_delivery_endpoint_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["event", "endpoint"], name="events_delivery_one_per_endpoint"
            ),
            models.CheckConstraint(
                condition=Q(status__in=DeliveryStatus.values), name="events_delivery_status_valid"
            ),
            # Pending: it has a time to be tried; finished: none.
            models.CheckConstraint(
                condition=(Q(status="pending") & Q(next_attempt_at__isnull=False))
                | (~Q(status="pending") & Q(next_attempt_at__isnull=True)),
                name="events_delivery_next_attempt_iff_pending",
            ),
            models.CheckConstraint(
                condition=Q(max_attempts__gte=1), name="events_delivery_max_attempts_positive"
            ),
            models.CheckConstraint(
                condition=~Q(status="succeeded") | Q(attempts__gte=1),
                name="events_delivery_succeeded_attempted",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event} → {self.endpoint} ({self.status})"


class DeliveryAttempt(models.Model):
    """One try of a delivery: what the receiver answered (or why there was no answer)."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveSmallIntegerField()
    attempted_at = models.DateTimeField(default=timezone.now)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    succeeded = models.BooleanField(default=False)
    error = models.CharField(max_length=500, blank=True, default="")
    response_body = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["delivery", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["delivery", "number"], name="events_attempt_number_unique"
            ),
            models.CheckConstraint(
                condition=Q(number__gte=1), name="events_attempt_number_positive"
            ),
            models.CheckConstraint(
                condition=Q(status_code__isnull=True) | Q(status_code__range=(100, 599)),
                name="events_attempt_status_code_http",
            ),
            # A success is a 2xx answer.
            models.CheckConstraint(
                condition=Q(succeeded=False) | Q(status_code__range=(200, 299)),
                name="events_attempt_success_is_2xx",
            ),
            models.CheckConstraint(
                condition=Q(error="") | Q(succeeded=False), name="events_attempt_error_failed"
            ),
        ]

    def __str__(self) -> str:
        return f"attempt {self.number} of {self.delivery_id}"
