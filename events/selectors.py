"""Reads of the events app, each with what its serializer needs fetched up front."""

from django.db.models import Prefetch, QuerySet

from events.models import Delivery, DeliveryAttempt, Event, WebhookEndpoint


def endpoint_list() -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.order_by("id")


def event_list() -> QuerySet[Event]:
    return Event.objects.order_by("-id")


def delivery_list(*, endpoint: WebhookEndpoint) -> QuerySet[Delivery]:
    """The endpoint's deliveries, newest first, each with its event and its attempts."""
    return (
        Delivery.objects.filter(endpoint=endpoint)
        .select_related("event")
        .prefetch_related(
            Prefetch("attempt_log", queryset=DeliveryAttempt.objects.order_by("number"))
        )
        .order_by("-id")
    )
