"""Sending events: the fan-out of an event to its endpoints, and each delivery's attempts.

An attempt is claimed in a conditional UPDATE that moves the delivery's ``next_attempt_at``
past the attempt's longest duration (the lease) and enqueues a task for then, in one
transaction: of two workers only one claims it, and if the one that did dies mid-attempt the
task at the lease's end tries again. When the attempt ends its outcome is written with the next
retry (and its task) in one transaction, and the lease's task is dropped.

An endpoint whose latest attempt failed or was slow is degraded, and its deliveries' tasks go to
the degraded queue (``events.tasks``). A task on the default queue that finds its delivery's
endpoint degraded makes no attempt: it hands the delivery over to that queue, in the claim's
transaction, so deliveries queued before the endpoint went bad cost the default lane nothing.
"""

import json
import logging
import random
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django_tasks_db.models import DBTaskResult
from standardwebhooks.webhooks import Webhook

from events import tasks, transport
from events.models import (
    Delivery,
    DeliveryAttempt,
    DeliveryStatus,
    Event,
    WebhookEndpoint,
)
from events.targets import UnsafeTarget, resolve_target

logger = logging.getLogger(__name__)

# An endpoint that has failed every delivery for this long is disabled.
DISABLE_AFTER = timedelta(days=1)
# An event not dispatched this long after it occurred lost its dispatching worker.
STALE_DISPATCH = timedelta(minutes=2)
# Each retry waits its delay give or take this share, so that the retries of many deliveries
# that failed together (a receiver's outage) do not all come back at the same second.
JITTER = 0.2


def retry_delays() -> list[float]:
    """Seconds before each retry (``WEBHOOK_RETRY_DELAYS``): one attempt more than there are."""
    return [float(delay) for delay in settings.WEBHOOK_RETRY_DELAYS]


def lease() -> timedelta:
    """How long an attempt may take at most (the request's timeout, and resolving the name):
    until then no other worker may try the delivery; after it one may, as its worker died."""
    return timedelta(seconds=settings.WEBHOOK_ATTEMPT_LEASE_SECONDS)


def attempts_per_round() -> int:
    return len(retry_delays()) + 1


def slow_seconds() -> float:
    """Seconds after which an attempt, even a successful one, leaves its endpoint degraded."""
    return float(settings.WEBHOOK_SLOW_SECONDS)


def _enqueue(delivery_id: int, *, degraded: bool, at: datetime | None = None) -> str:
    """Enqueue the delivery's task (in the current transaction), in the lane of its endpoint's
    state (``degraded``); its id."""
    task = tasks.deliver.using(queue_name=tasks.DEGRADED_QUEUE) if degraded else tasks.deliver
    if at is not None:
        task = task.using(run_after=at)
    return str(task.enqueue(delivery_id).id)


def event_dispatch(*, event_id: int) -> int:
    """Write a delivery of the event to each active endpoint subscribed to its type, and
    enqueue each: all in one transaction, once (an event already dispatched is left alone).
    The number of deliveries."""
    with transaction.atomic():
        event = (
            Event.objects.select_for_update()
            .filter(pk=event_id, dispatched_at__isnull=True)
            .first()
        )
        if event is None:
            return 0
        endpoints = [
            endpoint
            for endpoint in WebhookEndpoint.objects.filter(is_active=True).order_by("id")
            if endpoint.subscribes_to(event.type)
        ]
        now = timezone.now()
        deliveries = Delivery.objects.bulk_create(
            Delivery(
                event=event,
                endpoint=endpoint,
                next_attempt_at=now,
                max_attempts=attempts_per_round(),
            )
            for endpoint in endpoints
        )
        for delivery in deliveries:
            _enqueue(delivery.pk, degraded=delivery.endpoint.degraded_since is not None)
        event.dispatched_at = now
        event.save(update_fields=["dispatched_at"])
        return len(deliveries)


def events_dispatch_stale(*, limit: int = 100) -> int:
    """Dispatch events left undispatched well past their time: their task's worker died in the
    middle of it (the task queue leaves such a task running for ever, and nothing else would
    send them). Every dispatch task and ``purge_events`` call it. The number dispatched."""
    stale = (
        Event.objects.filter(
            dispatched_at__isnull=True, occurred_at__lt=timezone.now() - STALE_DISPATCH
        )
        .order_by("id")
        .values_list("id", flat=True)[:limit]
    )
    return sum(bool(event_dispatch(event_id=event_id)) for event_id in stale)


def _claim(delivery_id: int, *, degraded_lane: bool = False) -> tuple[Delivery, str] | None:
    """Claim the delivery's next attempt, or None when it is not due, finished, being tried by
    another worker, or (in the default lane) handed over to the degraded lane."""
    with transaction.atomic():
        now = timezone.now()
        lease_end = now + lease()
        claimed = Delivery.objects.filter(
            pk=delivery_id, status=DeliveryStatus.PENDING, next_attempt_at__lte=now
        ).update(next_attempt_at=lease_end, attempts=F("attempts") + 1, updated_at=now)
        if not claimed:
            return None
        delivery = Delivery.objects.select_related("event", "endpoint").get(pk=delivery_id)
        if delivery.attempts > delivery.max_attempts or not delivery.endpoint.is_active:
            # The last attempt's worker died (or the endpoint was turned off): nothing more is
            # tried until someone redelivers it.
            delivery.attempts -= 1
            delivery.status = DeliveryStatus.FAILED
            delivery.next_attempt_at = None
            delivery.save(update_fields=["attempts", "status", "next_attempt_at", "updated_at"])
            return None
        degraded = delivery.endpoint.degraded_since is not None
        if degraded and not degraded_lane:
            # Not this lane's to make: due now, in the other lane. (Claiming first keeps the
            # common case at the queries it had; the hand-over is one UPDATE more.)
            delivery.attempts -= 1
            delivery.next_attempt_at = now
            delivery.save(update_fields=["attempts", "next_attempt_at", "updated_at"])
            _enqueue(delivery_id, degraded=True)
            return None
        # If this worker dies, the delivery is tried again when the lease ends.
        safety_net = _enqueue(delivery_id, degraded=degraded, at=lease_end)
        return delivery, safety_net


def signature_headers(
    endpoint: WebhookEndpoint, *, message_id: str, body: bytes, at: datetime
) -> dict[str, str]:
    """The Standard Webhooks headers: one signature per secret in use, space-separated."""
    signatures = [
        Webhook(secret).sign(msg_id=message_id, timestamp=at, data=body)
        for secret in endpoint.signing_secrets(at=at)
    ]
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": " ".join(signatures),
    }


def _send(delivery: Delivery) -> transport.Answer:
    event, endpoint = delivery.event, delivery.endpoint
    body = json.dumps(event.payload(), separators=(",", ":"), ensure_ascii=False).encode()
    try:
        target = resolve_target(endpoint.url)
    except UnsafeTarget as refused:
        return transport.Answer(status_code=None, body="", error=refused.message, duration_ms=0)
    headers = signature_headers(endpoint, message_id=str(event.uuid), body=body, at=timezone.now())
    return transport.post(target, body, headers, timeout=settings.WEBHOOK_TIMEOUT_SECONDS)


def delivery_attempt(*, delivery_id: int, degraded_lane: bool = False) -> DeliveryAttempt | None:
    """Make the delivery's next attempt, if it is due and no other worker is making it, and
    record its outcome; the attempt, or None when there was none to make. In the default lane
    (not ``degraded_lane``) a delivery to a degraded endpoint is handed over to the degraded
    lane instead."""
    claim = _claim(delivery_id, degraded_lane=degraded_lane)
    if claim is None:
        return None
    delivery, safety_net = claim
    attempted_at = timezone.now()
    started = time.monotonic()
    answer = _send(delivery)
    # The whole attempt (resolving the name too) is what held the worker.
    took = time.monotonic() - started
    return _record(delivery, safety_net, answer, attempted_at, took=took)


@transaction.atomic
def _record(
    delivery: Delivery,
    safety_net: str,
    answer: transport.Answer,
    attempted_at: datetime,
    *,
    took: float,
) -> DeliveryAttempt:
    now = timezone.now()
    attempt = DeliveryAttempt.objects.create(
        delivery=delivery,
        number=delivery.attempts,
        attempted_at=attempted_at,
        status_code=answer.status_code,
        duration_ms=answer.duration_ms,
        succeeded=answer.succeeded,
        error=answer.error[:500],
        response_body=answer.body,
    )
    # Only a ready task is dropped: one a worker has taken finds the delivery not due.
    DBTaskResult.objects.filter(id=safety_net, status="READY").delete()
    endpoint = delivery.endpoint
    _endpoint_degraded(endpoint, not answer.succeeded or took > slow_seconds(), now)
    if answer.succeeded:
        delivery.status = DeliveryStatus.SUCCEEDED
        delivery.next_attempt_at = None
        if endpoint.failing_since is not None:
            WebhookEndpoint.objects.filter(pk=endpoint.pk).update(failing_since=None)
    else:
        _failed(delivery, now)
        _endpoint_failed(endpoint, now)
    delivery.save(update_fields=["status", "next_attempt_at", "updated_at"])
    return attempt


def _endpoint_degraded(endpoint: WebhookEndpoint, degraded: bool, now: datetime) -> None:
    """Start the endpoint's degraded spell after a failed or slow attempt, end it after one that
    succeeded in time. A healthy endpoint's fast success writes nothing."""
    if degraded:
        WebhookEndpoint.objects.filter(pk=endpoint.pk, degraded_since__isnull=True).update(
            degraded_since=now
        )
    elif endpoint.degraded_since is not None:
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(degraded_since=None)


def _failed(delivery: Delivery, now: datetime) -> None:
    if delivery.attempts >= delivery.max_attempts:
        delivery.status = DeliveryStatus.FAILED
        delivery.next_attempt_at = None
        return
    delays = retry_delays()
    done_this_round = delivery.attempts - (delivery.max_attempts - len(delays) - 1)
    delay = delays[min(max(done_this_round, 1), len(delays)) - 1]
    delay *= 1 + random.uniform(-JITTER, JITTER)  # noqa: S311  (not a secret)
    delivery.next_attempt_at = now + timedelta(seconds=delay)
    # A failed attempt leaves its endpoint degraded: the retry is the degraded lane's.
    _enqueue(delivery.pk, degraded=True, at=delivery.next_attempt_at)


def _endpoint_failed(endpoint: WebhookEndpoint, now: datetime) -> None:
    """Start or continue the endpoint's failing streak; a day of it disables the endpoint."""
    WebhookEndpoint.objects.filter(pk=endpoint.pk, failing_since__isnull=True).update(
        failing_since=now
    )
    disabled = WebhookEndpoint.objects.filter(
        pk=endpoint.pk, is_active=True, failing_since__lte=now - DISABLE_AFTER
    ).update(is_active=False, disabled_at=now, updated_at=now)
    if disabled:
        logger.warning("webhook endpoint %s disabled after a day of failures", endpoint.pk)
