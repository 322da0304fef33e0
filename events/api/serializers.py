from typing import Any

from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

from core.api.serializers import InputSerializer
from events.api.payloads import EventField
from events.models import (
    ALL_EVENTS,
    EVENT_TYPES,
    URL_MAX_LENGTH,
    Delivery,
    DeliveryAttempt,
    DeliveryStatus,
    Event,
    WebhookEndpoint,
)

EVENT_CHOICES = [*EVENT_TYPES, ALL_EVENTS]
EVENTS_HELP = 'The event types to receive, or ["*"] for all of them.'
SHOWN_ONCE_HELP = (
    "The signing secret (Standard Webhooks, `whsec_...`). Shown only here: when the endpoint is "
    "created and when its secret is rotated."
)


def _time(value: Any) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")


class EventTypesField(serializers.ListField):
    """Event types (or "*"), refused with one message naming the unknown ones (a list's errors
    by index would not say which types exist)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            child=serializers.CharField(max_length=40), min_length=1, max_length=40, **kwargs
        )

    def to_internal_value(self, data: Any) -> list[str]:
        if isinstance(data, list):
            unknown = [str(name) for name in data if name not in EVENT_CHOICES]
            if unknown:
                raise serializers.ValidationError(
                    f"Unknown event types: {', '.join(unknown)}. Known: {', '.join(EVENT_CHOICES)}."
                )
        return list(super().to_internal_value(data))


class WebhookEndpointCreateSerializer(InputSerializer):
    url = serializers.URLField(
        max_length=URL_MAX_LENGTH,
        help_text="Where events are POSTed: https, and not a private, loopback or link-local "
        "address.",
    )
    events = EventTypesField(help_text=EVENTS_HELP)
    is_active = serializers.BooleanField(default=True)
    description = serializers.CharField(
        max_length=200, required=False, allow_blank=True, default=""
    )

    read_only_messages = {
        "secret": "The secret is never set by hand: rotate it (POST .../rotate-secret/).",
        "id": "Set by the server.",
    }


class WebhookEndpointUpdateSerializer(InputSerializer):
    """Any of the fields, each unchanged when omitted. ``is_active: true`` turns a disabled
    endpoint on again."""

    url = serializers.URLField(max_length=URL_MAX_LENGTH, required=False)
    events = EventTypesField(required=False, help_text=EVENTS_HELP)
    is_active = serializers.BooleanField(required=False)
    description = serializers.CharField(max_length=200, required=False, allow_blank=True)

    read_only_messages = {
        "secret": "The secret is never set by hand: rotate it (POST .../rotate-secret/).",
        "id": "Set by the server.",
    }


@extend_schema_serializer(component_name="WebhookEndpoint")
class WebhookEndpointOutputSerializer(serializers.Serializer[WebhookEndpoint]):
    id = serializers.IntegerField(read_only=True)
    url = serializers.CharField(read_only=True)
    events = serializers.ListField(child=serializers.CharField(), read_only=True)
    is_active = serializers.BooleanField(read_only=True)
    description = serializers.CharField(read_only=True)
    disabled_at = serializers.DateTimeField(
        read_only=True,
        allow_null=True,
        help_text="When it was turned off after a day of failed deliveries; null otherwise.",
    )
    failing_since = serializers.DateTimeField(
        read_only=True,
        allow_null=True,
        help_text="Since when every delivery to it has failed; null after a success.",
    )
    degraded_since = serializers.DateTimeField(
        read_only=True,
        allow_null=True,
        help_text=(
            "Since when its attempts have been failing or slow, so that its deliveries are made "
            "apart from the other endpoints'; null after a success within the time."
        ),
    )
    previous_secret_expires_at = serializers.DateTimeField(
        read_only=True,
        allow_null=True,
        help_text="Until when the secret before the last rotation also signs; null if none.",
    )
    created_at = serializers.DateTimeField(read_only=True)

    def to_representation(self, instance: WebhookEndpoint) -> dict[str, Any]:
        expires = instance.previous_secret_expires_at
        return {
            "id": instance.pk,
            "url": instance.url,
            "events": list(instance.events),
            "is_active": instance.is_active,
            "description": instance.description,
            "disabled_at": _time(instance.disabled_at),
            "failing_since": _time(instance.failing_since),
            "degraded_since": _time(instance.degraded_since),
            "previous_secret_expires_at": _time(expires) if instance.previous_secret else None,
            "created_at": _time(instance.created_at),
        }


@extend_schema_serializer(component_name="WebhookEndpointWithSecret")
class WebhookEndpointSecretSerializer(WebhookEndpointOutputSerializer):
    secret = serializers.CharField(read_only=True, help_text=SHOWN_ONCE_HELP)

    def to_representation(self, instance: WebhookEndpoint) -> dict[str, Any]:
        return {**super().to_representation(instance), "secret": instance.secret}


class EventSerializer(serializers.Serializer[Event]):
    """An event as GET /api/v1/events/ and a delivery show it. Documented per type as ``Event``
    (events.api.payloads)."""

    def to_representation(self, instance: Event) -> dict[str, Any]:
        # Every key the schema lists, in every event (a webhook's body leaves sequence out when
        # it is null).
        return {"sequence": None, **instance.payload()}


@extend_schema_serializer(component_name="DeliveryAttempt")
class DeliveryAttemptSerializer(serializers.Serializer[DeliveryAttempt]):
    number = serializers.IntegerField(read_only=True)
    attempted_at = serializers.DateTimeField(read_only=True)
    status_code = serializers.IntegerField(
        read_only=True, allow_null=True, help_text="null: no answer (see error)."
    )
    duration_ms = serializers.IntegerField(read_only=True)
    succeeded = serializers.BooleanField(read_only=True)
    error = serializers.CharField(read_only=True)
    response_body = serializers.CharField(
        read_only=True, help_text="The first kilobyte of the answer."
    )

    def to_representation(self, instance: DeliveryAttempt) -> dict[str, Any]:
        return {
            "number": instance.number,
            "attempted_at": _time(instance.attempted_at),
            "status_code": instance.status_code,
            "duration_ms": instance.duration_ms,
            "succeeded": instance.succeeded,
            "error": instance.error,
            "response_body": instance.response_body,
        }


@extend_schema_serializer(component_name="Delivery")
class DeliverySerializer(serializers.Serializer[Delivery]):
    id = serializers.IntegerField(read_only=True)
    event = EventField(read_only=True)
    status = serializers.ChoiceField(choices=DeliveryStatus.choices, read_only=True)
    attempts = serializers.IntegerField(read_only=True)
    next_attempt_at = serializers.DateTimeField(
        read_only=True, allow_null=True, help_text="When it is tried next; null once finished."
    )
    created_at = serializers.DateTimeField(read_only=True)
    attempt_log = DeliveryAttemptSerializer(many=True, read_only=True)

    def to_representation(self, instance: Delivery) -> dict[str, Any]:
        return {
            "id": instance.pk,
            "event": EventSerializer(instance.event).data,
            "status": str(instance.status),
            "attempts": instance.attempts,
            "next_attempt_at": _time(instance.next_attempt_at),
            "created_at": _time(instance.created_at),
            "attempt_log": [
                DeliveryAttemptSerializer(attempt).data for attempt in instance.attempt_log.all()
            ],
        }
