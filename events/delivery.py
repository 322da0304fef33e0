"""Sending events: the fan-out of events to their endpoints, and the deliveries' attempts.

Deliveries go out in batches, a batch being one endpoint's deliveries claimed together. An
attempt is claimed by moving the delivery's ``next_attempt_at`` past the longest the batch may
take (the lease) and enqueuing a task for then, in one transaction: of two workers only one
claims it, and if the one that did dies mid-attempt the task at the lease's end tries again.
When the attempts end their outcomes are written with the retries (and their tasks) in one
transaction, and the lease's task is dropped.

The dispatch task claims the deliveries it writes to healthy endpoints in the same transaction
and sends them itself right after: an event costs its endpoint no task of its own, and the
tasks, queries and round trips of a dispatch are shared by all the events written together.
A batch sends up to ``WEBHOOK_SENDS_PER_ENDPOINT`` requests at once, endpoints side by side,
each sender on one kept-alive connection (``transport.Session``). An event's dispatch task is
due a batch window after it, and takes on the other events due (``events_dispatch``'s sweep):
under load a worker dispatches a window's events at a time.

An endpoint whose latest attempt failed or was slow is degraded, and its deliveries' tasks go to
the degraded queue (``events.tasks``), one delivery a task. A batch stops at the first failed
or slow answer and hands the deliveries it did not try to that queue; a task on the default
queue that finds its deliveries' endpoint degraded makes no attempt and hands them over too, so
deliveries queued before the endpoint went bad cost the default lane nothing. A batch whose
attempt has waited longer than a slow answer is left to its own threads (``batches_send``): an
endpoint turning slow holds the default lane up that long, not for the whole timeout.
"""

import json
import logging
import random
import threading
import time
from collections import deque
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from django_tasks.base import Task
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
# Events with a key wait this long before they are sent, gathering the burst they start.
COALESCE_WINDOW = timedelta(seconds=1)
# The most events a dispatch task takes on beyond its own (``events_dispatch``'s ``sweep``).
SWEEP_LIMIT = 500
# Each retry waits its delay give or take this share, so that the retries of many deliveries
# that failed together (a receiver's outage) do not all come back at the same second.
JITTER = 0.2
# A batch starts no attempt that could run past its lease: one within this many seconds of the
# lease's end (beyond the timeout) is left for another task.
LEASE_MARGIN_SECONDS = 1.0


def retry_delays() -> list[float]:
    """Seconds before each retry (``WEBHOOK_RETRY_DELAYS``): one attempt more than there are."""
    return [float(delay) for delay in settings.WEBHOOK_RETRY_DELAYS]


def lease() -> timedelta:
    """How long a batch of attempts may take at most (each attempt's timeout and resolving the
    name, no attempt starting too late to end in time): until then no other worker may try its
    deliveries; after it one may, as the first worker died."""
    return timedelta(seconds=settings.WEBHOOK_ATTEMPT_LEASE_SECONDS)


def batch_window() -> timedelta:
    """How long after an event its dispatch task is due (``WEBHOOK_BATCH_WINDOW_SECONDS``)."""
    return timedelta(seconds=float(settings.WEBHOOK_BATCH_WINDOW_SECONDS))


def attempts_per_round() -> int:
    return len(retry_delays()) + 1


def slow_seconds() -> float:
    """Seconds after which an attempt, even a successful one, leaves its endpoint degraded."""
    return float(settings.WEBHOOK_SLOW_SECONDS)


@dataclass(eq=False)
class Batch:
    """Deliveries to one endpoint claimed by this worker until ``lease_end`` (attempts counted),
    and the task (``safety_net``) that tries them again then, should this worker die first."""

    endpoint: WebhookEndpoint
    deliveries: list[Delivery]
    safety_net: str
    degraded_lane: bool
    lease_end: datetime


@dataclass(frozen=True, slots=True)
class Dispatched:
    """What a dispatch wrote: the events handed out, their deliveries, and the batches claimed
    for the caller to send (``batches_send``)."""

    events: int
    deliveries: int
    batches: list[Batch]


def _lane_task(
    task: Task[..., None], *, degraded: bool, at: datetime | None = None
) -> Task[..., None]:
    """The task on the queue of the lane (``degraded`` or not), run from ``at`` if given."""
    if degraded:
        task = task.using(queue_name=tasks.DEGRADED_QUEUE)
    return task.using(run_after=at) if at is not None else task


def _enqueue_each(deliveries: Iterable[Delivery], *, at: datetime | None = None) -> None:
    """One task each in the degraded lane, where an endpoint's deliveries go one at a time."""
    task = _lane_task(tasks.deliver, degraded=True, at=at)
    for delivery in deliveries:
        task.enqueue(delivery.pk)


def _enqueue_batch(
    deliveries: Sequence[Delivery], *, degraded: bool, at: datetime | None = None
) -> str:
    """One task for the deliveries (in the current transaction); its id."""
    task = _lane_task(tasks.deliver_batch, degraded=degraded, at=at)
    return str(task.enqueue([delivery.pk for delivery in deliveries]).id)


def _by_endpoint(deliveries: Iterable[Delivery]) -> list[tuple[WebhookEndpoint, list[Delivery]]]:
    groups: dict[int, tuple[WebhookEndpoint, list[Delivery]]] = {}
    for delivery in deliveries:
        groups.setdefault(delivery.endpoint_id, (delivery.endpoint, []))[1].append(delivery)
    return list(groups.values())


def events_dispatch(
    *, event_ids: Sequence[int], send: bool = False, sweep: bool = False
) -> Dispatched:
    """Write a delivery of each of the events to each active endpoint subscribed to its type:
    all in one transaction, once (events already dispatched are left alone).

    Deliveries to a degraded endpoint get a task each in the degraded lane. Those to a healthy
    endpoint get one task for them all, or with ``send`` are claimed for the caller (the
    dispatch task), who sends them right away with ``batches_send``: their task then is the
    lease's, which sends them only if the caller dies first.

    With ``sweep`` the other events that are due (up to ``SWEEP_LIMIT``, not being dispatched by
    another worker, a keyed one once its window has passed, or will within the batch window)
    are taken on too, and the ready dispatch tasks of single events so taken are dropped.
    Under load the events' tasks queue behind one another, and the first to run takes on those
    of the rest: a worker's queries, tasks and round trips are shared by all the events written
    since it last looked, however they were written, rather than spent on each.
    """
    with transaction.atomic():
        # No lock is waited for, so a dispatch never deadlocks with the transactions that emit.
        # One of its events that is locked is being coalesced into by an emission, or taken on
        # by another worker: it gets a task of its own, a window later (which finds nothing
        # to do if the other worker dispatched it).
        events = list(
            Event.objects.select_for_update(skip_locked=True)
            .filter(pk__in=event_ids, dispatched_at__isnull=True)
            .order_by("id")
        )
        if len(events) < len(event_ids):
            _dispatch_later(set(event_ids) - {event.pk for event in events})
        now = timezone.now()
        swept: list[Event] = []
        if sweep:
            # Keyed events due within the next batch window are taken on too (their coalescing
            # cut that much short): what a worker takes on comes due no sooner than a window
            # later, so under a steady stream of changes it takes windows, not each event.
            due_by = now - COALESCE_WINDOW + batch_window()
            swept = list(
                Event.objects.select_for_update(skip_locked=True)
                .filter(dispatched_at__isnull=True)
                .filter(Q(key="") | Q(occurred_at__lte=due_by))
                .exclude(pk__in=event_ids)
                .order_by("id")[:SWEEP_LIMIT]
            )
            events = sorted(events + swept, key=lambda event: event.pk)
        if not events:
            return Dispatched(events=0, deliveries=0, batches=[])
        lease_end = now + lease()
        deliveries: list[Delivery] = []
        for endpoint in WebhookEndpoint.objects.filter(is_active=True).order_by("id"):
            claimed = send and endpoint.degraded_since is None
            deliveries += [
                Delivery(
                    event=event,
                    endpoint=endpoint,
                    attempts=1 if claimed else 0,
                    next_attempt_at=lease_end if claimed else now,
                    max_attempts=attempts_per_round(),
                )
                for event in events
                if endpoint.subscribes_to(event.type)
            ]
        Delivery.objects.bulk_create(deliveries)
        batches = []
        for endpoint, group in _by_endpoint(deliveries):
            if endpoint.degraded_since is not None:
                _enqueue_each(group)
            elif send:
                safety_net = _enqueue_batch(group, degraded=False, at=lease_end)
                batches.append(Batch(endpoint, group, safety_net, False, lease_end))
            else:
                _enqueue_batch(group, degraded=False)
        Event.objects.filter(pk__in=[event.pk for event in events]).update(dispatched_at=now)
        if swept:
            # Theirs would find nothing to do; a task a worker has taken is left to it.
            DBTaskResult.objects.filter(
                status="READY",
                task_path=tasks.dispatch_event.module_path,
                args_kwargs__args__0__in=[event.pk for event in swept],
            ).delete()
        return Dispatched(events=len(events), deliveries=len(deliveries), batches=batches)


def _dispatch_later(event_ids: set[int]) -> None:
    """A dispatch task, a batch window from now, for those of the events not dispatched."""
    waiting = list(
        Event.objects.filter(pk__in=event_ids, dispatched_at__isnull=True)
        .order_by("id")
        .values_list("id", flat=True)
    )
    if waiting:
        at = timezone.now() + max(batch_window(), timedelta(milliseconds=100))
        tasks.dispatch_events.using(run_after=at).enqueue(waiting)


def event_dispatch(*, event_id: int) -> int:
    """``events_dispatch`` of one event, its deliveries left to their tasks; their number."""
    return events_dispatch(event_ids=[event_id]).deliveries


def events_dispatch_stale(*, limit: int = 100) -> int:
    """Dispatch events left undispatched well past their time: their task's worker died in the
    middle of it (the task queue leaves such a task running for ever, and nothing else would
    send them). ``purge_events`` calls it; a dispatch task's sweep takes them on too. The number
    dispatched."""
    stale = (
        Event.objects.filter(
            dispatched_at__isnull=True, occurred_at__lt=timezone.now() - STALE_DISPATCH
        )
        .order_by("id")
        .values_list("id", flat=True)[:limit]
    )
    return events_dispatch(event_ids=list(stale)).events


def deliveries_claim(*, delivery_ids: Sequence[int], degraded_lane: bool = False) -> list[Batch]:
    """Claim the next attempt of each of the deliveries that is due and not being tried by
    another worker, in batches by endpoint. Deliveries out of attempts (their last attempt's
    worker died) or to an endpoint turned off fail instead; in the default lane, those to a
    degraded endpoint are handed over to the degraded lane."""
    with transaction.atomic():
        now = timezone.now()
        lease_end = now + lease()
        # Rows another worker is claiming are skipped: they are its to try.
        due = list(
            Delivery.objects.select_related("event", "endpoint")
            .select_for_update(of=("self",), skip_locked=True)
            .filter(pk__in=delivery_ids, status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
            .order_by("id")
        )
        ended = [d for d in due if d.attempts >= d.max_attempts or not d.endpoint.is_active]
        if ended:
            # Nothing more is tried until someone redelivers them.
            Delivery.objects.filter(pk__in=[d.pk for d in ended]).update(
                status=DeliveryStatus.FAILED, next_attempt_at=None, updated_at=now
            )
        live = [d for d in due if d.attempts < d.max_attempts and d.endpoint.is_active]
        # In the default lane, those to a degraded endpoint are not this lane's to make: due
        # now, in the other lane.
        handing = not degraded_lane
        _enqueue_each(d for d in live if handing and d.endpoint.degraded_since is not None)
        claimed = [d for d in live if not (handing and d.endpoint.degraded_since is not None)]
        if not claimed:
            return []
        Delivery.objects.filter(pk__in=[d.pk for d in claimed]).update(
            next_attempt_at=lease_end, attempts=F("attempts") + 1, updated_at=now
        )
        batches = []
        for endpoint, group in _by_endpoint(claimed):
            for delivery in group:
                delivery.attempts += 1
                delivery.next_attempt_at = lease_end
            # If this worker dies, they are tried again when the lease ends.
            degraded = endpoint.degraded_since is not None
            safety_net = _enqueue_batch(group, degraded=degraded, at=lease_end)
            batches.append(Batch(endpoint, group, safety_net, degraded_lane, lease_end))
        return batches


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


@dataclass(frozen=True, slots=True)
class _Outcome:
    delivery: Delivery
    attempted_at: datetime
    answer: transport.Answer
    # Seconds the whole attempt (resolving the name too) held its sender.
    took: float


def _post(delivery: Delivery, session: transport.Session) -> transport.Answer:
    event, endpoint = delivery.event, delivery.endpoint
    body = json.dumps(event.payload(), separators=(",", ":"), ensure_ascii=False).encode()
    headers = signature_headers(endpoint, message_id=str(event.uuid), body=body, at=timezone.now())
    return session.post(body, headers, timeout=settings.WEBHOOK_TIMEOUT_SECONDS)


class _Sender:
    """Sends a batch's deliveries, from up to ``WEBHOOK_SENDS_PER_ENDPOINT`` threads at once:
    each takes the next delivery not yet tried, until none is left, the endpoint has answered
    one with a failure or slowly (``gone_bad``: the rest are for the degraded lane), or an
    attempt started now could outlast the lease (the rest are for another task)."""

    def __init__(self, batch: Batch) -> None:
        self.batch = batch
        self.waiting = deque(batch.deliveries)
        self.outcomes: list[_Outcome] = []
        self.gone_bad = threading.Event()
        # The last moment (on this process's clock) an attempt may start and still end, timed
        # out, before the lease does.
        left = (batch.lease_end - timezone.now()).total_seconds()
        timeout = float(settings.WEBHOOK_TIMEOUT_SECONDS)
        self._start_by = time.monotonic() + left - timeout - LEASE_MARGIN_SECONDS
        self.runners = max(1, min(int(settings.WEBHOOK_SENDS_PER_ENDPOINT), len(self.waiting)))
        # Set when every runner is done. A batch left behind (``batches_send``) is ``detached``:
        # its last runner records it.
        self.finished = threading.Event()
        self.detached = False
        self._running = self.runners
        self._lock = threading.Lock()
        # When each runner's attempt in flight began (by thread).
        self._in_flight: dict[int, float] = {}

    def run(self) -> None:
        """One runner's share, on one connection while the receiver keeps it open: its first
        attempt is always made (the lease covers one)."""
        try:
            self._send()
        finally:
            with self._lock:
                self._running -= 1
                last = self._running == 0
            if last:
                self.finished.set()
                if self.detached:
                    self._record_detached()

    def stuck(self, now: float) -> bool:
        """Whether an attempt has been in flight longer than an endpoint answers when well."""
        with self._lock:
            return any(now - began > slow_seconds() for began in self._in_flight.values())

    def detach(self) -> bool:
        """Leave the batch to its runners, who record it when done, and start no more of its
        attempts (the endpoint is slow: the rest are for the degraded lane); False if the
        runners are done."""
        with self._lock:
            self.detached = self._running > 0
        if self.detached:
            self.gone_bad.set()
        return self.detached

    def _record_detached(self) -> None:
        try:
            _record([self])
        except Exception:  # the lease's task sends the deliveries again
            logger.exception("recording a batch to endpoint %s failed", self.batch.endpoint.pk)
        finally:
            connection.close()  # this thread's own

    def _send(self) -> None:
        session: transport.Session | None = None
        first = True
        try:
            while not self.gone_bad.is_set() and (first or time.monotonic() < self._start_by):
                try:
                    delivery = self.waiting.popleft()
                except IndexError:
                    return
                first = False
                attempted_at = timezone.now()
                started = time.monotonic()
                with self._lock:
                    self._in_flight[threading.get_ident()] = started
                try:
                    # Resolved (and checked) once for the thread's attempts: at delivery time.
                    session = session or transport.Session(resolve_target(self.batch.endpoint.url))
                    answer = _post(delivery, session)
                except UnsafeTarget as refused:
                    answer = transport.Answer(None, "", refused.message, 0)
                except Exception as error:  # a fault of ours: logged, retried like any failure
                    logger.exception("webhook delivery %s failed unexpectedly", delivery.pk)
                    answer = transport.Answer(None, "", f"{type(error).__name__}: {error}", 0)
                took = time.monotonic() - started
                with self._lock:
                    del self._in_flight[threading.get_ident()]
                self.outcomes.append(_Outcome(delivery, attempted_at, answer, took))
                if not answer.succeeded or took > slow_seconds():
                    self.gone_bad.set()
        finally:
            if session is not None:
                session.close()

    @property
    def unsent(self) -> list[Delivery]:
        return list(self.waiting)


def batches_send(batches: Sequence[Batch]) -> list[DeliveryAttempt]:
    """Make the claimed attempts, endpoints side by side, and record their outcomes (no
    database work while sending); the attempts recorded, in the order made.

    In the default lane, a batch with an attempt in flight for longer than
    ``WEBHOOK_SLOW_SECONDS`` is left behind: its endpoint is degraded at once (the next
    dispatches send its deliveries to the degraded lane, as do the batch's threads what they
    have not started), the others' outcomes are recorded, and the caller goes on to its next
    task while the slow batch's threads wait for their answers (or the timeout) and record it.
    An endpoint turning slow holds up the default lane's worker that long, not for the whole
    timeout. The degraded lane, there to wait on such endpoints, waits for every batch."""
    if not batches:
        return []
    senders = [_Sender(batch) for batch in batches]
    waits = not settings.WEBHOOK_LEAVE_SLOW_BATCHES or all(b.degraded_lane for b in batches)
    if waits and len(senders) == 1 and senders[0].runners == 1:
        senders[0].run()
        return _record(senders)
    runners = sum(sender.runners for sender in senders)
    pool = ThreadPoolExecutor(max_workers=runners, thread_name_prefix="webhook")
    for sender in senders:
        for _ in range(sender.runners):
            pool.submit(sender.run)
    if waits:
        for sender in senders:
            sender.finished.wait()
    else:
        # Until every batch has ended but those with an attempt in flight for longer than
        # an endpoint answers when well: those are left behind.
        while not all(
            sender.finished.is_set() or sender.stuck(time.monotonic()) for sender in senders
        ):
            next(s for s in senders if not s.finished.is_set()).finished.wait(0.05)
    left = [sender for sender in senders if sender.detach()]
    # The threads of batches left behind go on; those of the others have ended.
    pool.shutdown(wait=False)
    if left:
        now = timezone.now()
        WebhookEndpoint.objects.filter(
            pk__in=[sender.batch.endpoint.pk for sender in left], degraded_since__isnull=True
        ).update(degraded_since=now)
        for sender in left:
            sender.batch.endpoint.degraded_since = sender.batch.endpoint.degraded_since or now
        logger.info(
            "webhook batches to endpoint(s) %s left to finish on their own (slow)",
            ", ".join(str(sender.batch.endpoint.pk) for sender in left),
        )
    done = [sender for sender in senders if not sender.detached]
    return _record(done) if done else []


def delivery_attempt(*, delivery_id: int, degraded_lane: bool = False) -> DeliveryAttempt | None:
    """Make the delivery's next attempt, if it is due and no other worker is making it, and
    record its outcome; the attempt, or None when there was none to make. In the default lane
    (not ``degraded_lane``) a delivery to a degraded endpoint is handed over to the degraded
    lane instead."""
    made = batches_send(deliveries_claim(delivery_ids=[delivery_id], degraded_lane=degraded_lane))
    return made[0] if made else None


@transaction.atomic
def _record(senders: Sequence[_Sender]) -> list[DeliveryAttempt]:
    now = timezone.now()
    # Deliveries deleted meanwhile (with their endpoint) are left out, and those left are
    # kept from it until this commits: one endpoint gone costs the others nothing.
    claimed = [delivery.pk for sender in senders for delivery in sender.batch.deliveries]
    kept = set(
        Delivery.objects.select_for_update().filter(pk__in=claimed).values_list("pk", flat=True)
    )
    outcomes = [
        outcome for sender in senders for outcome in sender.outcomes if outcome.delivery.pk in kept
    ]
    attempts = DeliveryAttempt.objects.bulk_create(
        DeliveryAttempt(
            delivery=outcome.delivery,
            number=outcome.delivery.attempts,
            attempted_at=outcome.attempted_at,
            status_code=outcome.answer.status_code,
            duration_ms=outcome.answer.duration_ms,
            succeeded=outcome.answer.succeeded,
            error=outcome.answer.error[:500],
            response_body=outcome.answer.body,
        )
        for outcome in outcomes
    )
    succeeded = [o.delivery for o in outcomes if o.answer.succeeded]
    failed = [o.delivery for o in outcomes if not o.answer.succeeded]
    if succeeded:
        Delivery.objects.filter(pk__in=[d.pk for d in succeeded]).update(
            status=DeliveryStatus.SUCCEEDED, next_attempt_at=None, updated_at=now
        )
        for delivery in succeeded:
            delivery.status, delivery.next_attempt_at = DeliveryStatus.SUCCEEDED, None
    for delivery in failed:
        _failed(delivery, now)
    if failed:
        Delivery.objects.bulk_update(failed, ["status", "next_attempt_at", "updated_at"])
    for sender in senders:
        _release(sender, now, kept)
    # Only a ready task is dropped: one a worker has taken finds its deliveries not due.
    DBTaskResult.objects.filter(
        id__in=[sender.batch.safety_net for sender in senders], status="READY"
    ).delete()
    for sender in senders:
        _endpoint_outcomes(sender, now)
    return attempts


def _release(sender: _Sender, now: datetime, kept: set[int]) -> None:
    """Give back the attempts the batch did not make: due now, in the degraded lane when the
    endpoint has gone bad, else in a task of the batch's lane."""
    unsent = [delivery for delivery in sender.unsent if delivery.pk in kept]
    if not unsent:
        return
    Delivery.objects.filter(pk__in=[d.pk for d in unsent]).update(
        attempts=F("attempts") - 1, next_attempt_at=now, updated_at=now
    )
    if sender.gone_bad.is_set():
        _enqueue_each(unsent)
    else:
        _enqueue_batch(unsent, degraded=sender.batch.degraded_lane)


def _endpoint_outcomes(sender: _Sender, now: datetime) -> None:
    endpoint = sender.batch.endpoint
    outcomes = sender.outcomes
    if not outcomes:
        return
    _endpoint_degraded(endpoint, sender.gone_bad.is_set(), now)
    if any(outcome.answer.succeeded for outcome in outcomes):
        if endpoint.failing_since is not None:
            WebhookEndpoint.objects.filter(pk=endpoint.pk).update(failing_since=None)
    else:
        _endpoint_failed(endpoint, now)


def _endpoint_degraded(endpoint: WebhookEndpoint, degraded: bool, now: datetime) -> None:
    """Start the endpoint's degraded spell after a failed or slow attempt, end it after
    attempts that all succeeded in time. A healthy endpoint's fast successes write nothing."""
    if degraded:
        WebhookEndpoint.objects.filter(pk=endpoint.pk, degraded_since__isnull=True).update(
            degraded_since=now
        )
    elif endpoint.degraded_since is not None:
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(degraded_since=None)


def _failed(delivery: Delivery, now: datetime) -> None:
    delivery.updated_at = now
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
    _enqueue_each([delivery], at=delivery.next_attempt_at)


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
