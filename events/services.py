"""Writes of the events app: emitting events (called by the other apps' services, inside their
transactions), the webhook endpoints, redeliveries and the purge of old events."""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from events import tasks
from events.delivery import COALESCE_WINDOW, attempts_per_round, batch_window
from events.models import (
    ALL_EVENTS,
    EVENT_TYPES,
    Delivery,
    DeliveryStatus,
    Event,
    WebhookEndpoint,
    new_secret,
)
from events.targets import check_url

# After a rotation the previous secret signs alongside the new one this long.
ROTATION_OVERLAP = timedelta(hours=24)
# The most events one query reads or one task sends.
EMIT_CHUNK = 500

ENDPOINT_FIELDS = ("url", "events", "is_active", "description")


@dataclass(frozen=True, slots=True)
class Emission:
    """An event to record: its type and data, and for coalesced events (stock levels) the
    ``key`` of what it is about and the ``sequence`` of this change of it."""

    type: str
    data: Mapping[str, Any]
    key: str = ""
    sequence: int | None = None


def emit(
    event_type: str,
    data: Mapping[str, Any],
    *,
    key: str = "",
    sequence: int | None = None,
) -> Event:
    """Record one event in the caller's transaction (``emit_many``)."""
    [event] = emit_many([Emission(event_type, data, key=key, sequence=sequence)])
    return event


def emit_many(emissions: Sequence[Emission], *, new_keys: bool = False) -> list[Event]:
    """Record events in the caller's transaction, with the task that sends them out: both are
    committed with the change the events tell of, or rolled back with it. The events, in the
    order given (one event for emissions coalesced into it).

    An emission with a ``key`` updates the event of that key not yet sent out, if there is one,
    to its data and sequence instead of adding another (a burst of changes to one stock level
    gives one event, with the latest figures); such events wait ``COALESCE_WINDOW`` before they
    are sent, gathering the burst they start. With ``new_keys`` the caller knows no event of
    its keys can be pending (the levels were just created) and none is looked for.

    Four queries at most for up to ``EMIT_CHUNK`` events (the pending events of the keys, their
    UPDATE, the new events' INSERT and one task's), and as many more for each further chunk: an
    import of thousands of rows stays within the database's parameters, and no task sends more
    than a chunk.
    """
    for emission in emissions:
        if emission.type not in EVENT_TYPES:
            raise ValueError(f"Unknown event type {emission.type!r}.")
    result: list[Event] = []
    # No savepoint: the caller's transaction is the unit, and a savepoint would cost it two
    # round trips more.
    with transaction.atomic(savepoint=False):
        now = timezone.now()
        for start in range(0, len(emissions), EMIT_CHUNK):
            result += _emit_chunk(emissions[start : start + EMIT_CHUNK], now, new_keys=new_keys)
    return result


def _dispatch_after(events: Sequence[Event], now: datetime) -> datetime | None:
    if any(event.key for event in events):
        return now + COALESCE_WINDOW
    window = batch_window()
    return now + window if window else None


def _emit_chunk(emissions: Sequence[Emission], now: datetime, *, new_keys: bool) -> list[Event]:
    keys = sorted({emission.key for emission in emissions if emission.key})
    pending: dict[str, Event] = {}
    if keys and not new_keys:
        # In id order: two transactions locking the same pending events queue, never cross.
        for event in (
            Event.objects.select_for_update()
            .filter(key__in=keys, dispatched_at__isnull=True)
            .order_by("id")
        ):
            pending[event.key] = event  # the newest of a key, should there be two
    updated: dict[int, Event] = {}
    created: list[Event] = []
    result: list[Event] = []
    for emission in emissions:
        found = pending.get(emission.key) if emission.key else None
        if found is None or found.type != emission.type:
            event = Event(
                type=emission.type,
                data=dict(emission.data),
                key=emission.key,
                sequence=emission.sequence,
                occurred_at=now,
            )
            created.append(event)
            if emission.key:
                pending[emission.key] = event  # later ones in this call coalesce into it
        else:
            event = found
            event.data = dict(emission.data)
            event.sequence = emission.sequence
            event.occurred_at = now
            if event.pk is not None:
                updated[event.pk] = event
        result.append(event)
    if updated:
        Event.objects.bulk_update(list(updated.values()), ["data", "sequence", "occurred_at"])
    if created:
        Event.objects.bulk_create(created)
        # One task sends them all: with a keyed one among them after the coalescing window,
        # else after the batch window (under load, the first task due sends the window's).
        run_after = _dispatch_after(created, now)
        if len(created) == 1:
            single = tasks.dispatch_event
            (single.using(run_after=run_after) if run_after else single).enqueue(created[0].pk)
        else:
            batch = tasks.dispatch_events
            (batch.using(run_after=run_after) if run_after else batch).enqueue(
                [event.pk for event in created]
            )
    return result


def _clean_events(events: Any) -> list[str]:
    if not isinstance(events, list) or not all(isinstance(name, str) for name in events):
        raise ValidationError({"events": 'A list of event types, or ["*"] for all.'})
    if not events:
        raise ValidationError({"events": 'Subscribe to at least one event type, or "*".'})
    unknown = sorted(set(events) - {*EVENT_TYPES, ALL_EVENTS})
    if unknown:
        raise ValidationError({"events": f"Unknown event types: {', '.join(unknown)}."})
    if ALL_EVENTS in events:
        return [ALL_EVENTS]
    return sorted(set(events))


def _clean(endpoint: WebhookEndpoint) -> None:
    endpoint.events = _clean_events(endpoint.events)
    endpoint.description = endpoint.description.strip()
    endpoint.full_clean(exclude=["secret"])
    check_url(endpoint.url)


@transaction.atomic
def endpoint_create(
    *, url: str, events: Iterable[str], is_active: bool = True, description: str = ""
) -> WebhookEndpoint:
    """A new endpoint with a new secret (shown once, to whoever creates it)."""
    endpoint = WebhookEndpoint(
        url=url, events=list(events), is_active=is_active, description=description
    )
    _clean(endpoint)
    endpoint.save()
    return endpoint


@transaction.atomic
def endpoint_update(*, endpoint: WebhookEndpoint, data: Mapping[str, Any]) -> WebhookEndpoint:
    """Change the given fields. Turning a disabled endpoint on again clears its failures."""
    locked = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    changed = [field for field in ENDPOINT_FIELDS if field in data]
    for field in changed:
        setattr(locked, field, list(data[field]) if field == "events" else data[field])
    if data.get("is_active") is True and locked.disabled_at is not None:
        locked.disabled_at = None
        locked.failing_since = None
        changed += ["disabled_at", "failing_since"]
    if data.get("is_active") is False:
        locked.disabled_at = None
        changed.append("disabled_at")
    _clean(locked)
    locked.save(update_fields=[*dict.fromkeys(changed), "updated_at"])
    return locked


@transaction.atomic
def endpoint_delete(*, endpoint: WebhookEndpoint) -> None:
    """Delete an endpoint with its deliveries (pending ones are never sent)."""
    WebhookEndpoint.objects.filter(pk=endpoint.pk).delete()


@transaction.atomic
def endpoint_rotate_secret(*, endpoint: WebhookEndpoint) -> WebhookEndpoint:
    """A new secret; the current one goes on signing beside it for ``ROTATION_OVERLAP``, so a
    receiver can switch without rejecting a delivery. A second rotation within that time
    replaces the older secret."""
    locked = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    locked.previous_secret = locked.secret
    locked.previous_secret_expires_at = timezone.now() + ROTATION_OVERLAP
    locked.secret = new_secret()
    locked.save(
        update_fields=["secret", "previous_secret", "previous_secret_expires_at", "updated_at"]
    )
    return locked


def deliveries_redeliver(*, deliveries: QuerySet[Delivery]) -> int:
    """Send the given deliveries again, from now, with a whole new round of attempts (a
    succeeded one is sent once more: a receiver that lost it asks for it). Those still pending
    are left to their schedule. The number queued."""
    with transaction.atomic():
        chosen = list(
            deliveries.exclude(status=DeliveryStatus.PENDING).select_for_update().order_by("pk")
        )
        now = timezone.now()
        for delivery in chosen:
            delivery.status = DeliveryStatus.PENDING
            delivery.next_attempt_at = now
            delivery.max_attempts = delivery.attempts + attempts_per_round()
            delivery.updated_at = now
        Delivery.objects.bulk_update(
            chosen, ["status", "next_attempt_at", "max_attempts", "updated_at"]
        )
        for delivery in chosen:
            tasks.deliver.enqueue(delivery.pk)
        return len(chosen)


def delivery_redeliver(*, delivery: Delivery) -> Delivery:
    deliveries_redeliver(deliveries=Delivery.objects.filter(pk=delivery.pk))
    return Delivery.objects.select_related("event").get(pk=delivery.pk)


def events_purge(*, before: datetime | None = None) -> int:
    """Delete the events (with their deliveries and attempts) that occurred before ``before``,
    by default ``EVENTS_KEEP_DAYS`` ago, keeping those with a delivery still pending. The number
    of events deleted."""
    before = before or timezone.now() - timedelta(days=settings.EVENTS_KEEP_DAYS)
    old = Event.objects.filter(occurred_at__lt=before, dispatched_at__isnull=False).exclude(
        deliveries__status=DeliveryStatus.PENDING
    )
    deleted = 0
    while True:
        with transaction.atomic():
            batch = list(old.order_by("id").values_list("id", flat=True)[:1000])
            if not batch:
                return deleted
            Event.objects.filter(id__in=batch).delete()
            deleted += len(batch)
