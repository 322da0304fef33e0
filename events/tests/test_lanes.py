"""The two lanes of deliveries, run in this process: an endpoint whose attempt failed or was slow
is degraded and its deliveries' tasks go to the degraded queue; a default-queue task of a
degraded endpoint hands its delivery over without an attempt; a fast success brings the endpoint
back to the default queue."""

import time

import pytest
from django_tasks import DEFAULT_TASK_QUEUE_NAME
from django_tasks_db.models import DBTaskResult

from events import delivery as sending
from events import services
from events.models import Delivery, DeliveryAttempt, WebhookEndpoint
from events.tasks import DEGRADED_QUEUE
from events.tests.receiver import Receiver, receiver, run_ready_tasks
from events.tests.test_delivery import emit_and_dispatch, make_due

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _short_timeouts(settings):
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.3
    settings.WEBHOOK_SLOW_SECONDS = 0.2


def queues_of(endpoint: WebhookEndpoint) -> list[str]:
    """The queues of the ready tasks of the endpoint's deliveries, a task of several deliveries
    once, in delivery order."""
    deliveries = set(Delivery.objects.filter(endpoint=endpoint).values_list("pk", flat=True))
    ready = DBTaskResult.objects.filter(
        status="READY", task_path__in=["events.tasks.deliver", "events.tasks.deliver_batch"]
    )
    tasks = []
    for args_kwargs, queue in ready.values_list("args_kwargs", "queue_name"):
        [ids] = args_kwargs["args"]
        ids = ids if isinstance(ids, list) else [ids]
        if deliveries.intersection(ids):
            tasks.append((min(ids), queue))
    return [queue for _, queue in sorted(tasks)]


def times_out(hook: Receiver) -> None:
    hook.delay = 1.0


def answers_500(hook: Receiver) -> None:
    hook.script = [500] * 10


def hangs_up(hook: Receiver) -> None:
    hook.hang_up = True


@pytest.mark.parametrize("misbehave", [times_out, answers_500, hangs_up])
def test_an_endpoint_that_fails_is_degraded_and_its_deliveries_go_to_the_degraded_queue(
    misbehave,
):
    with receiver() as bad, receiver() as good:
        misbehave(bad)
        degraded = services.endpoint_create(url=bad.url, events=["*"])
        healthy = services.endpoint_create(url=good.url, events=["*"])
        emit_and_dispatch()
        assert queues_of(degraded) == queues_of(healthy) == [DEFAULT_TASK_QUEUE_NAME]

        run_ready_tasks(queue=DEFAULT_TASK_QUEUE_NAME)

        degraded.refresh_from_db()
        healthy.refresh_from_db()
        assert degraded.degraded_since is not None
        assert healthy.degraded_since is None
        [attempt] = DeliveryAttempt.objects.filter(delivery__endpoint=degraded)
        assert not attempt.succeeded
        # The retry, and the next event's delivery, are the degraded lane's; the healthy
        # endpoint's stays in the default lane.
        assert queues_of(degraded) == [DEGRADED_QUEUE]
        emit_and_dispatch(data={"number": "SO-2"})
        assert queues_of(degraded) == [DEGRADED_QUEUE, DEGRADED_QUEUE]
        assert queues_of(healthy) == [DEFAULT_TASK_QUEUE_NAME]
        assert len(bad.requests) == 1


def test_a_success_slower_than_the_threshold_degrades_the_endpoint(endpoint, hook):
    hook.delay = 0.25  # within the timeout, past the threshold
    emit_and_dispatch()
    run_ready_tasks()
    endpoint.refresh_from_db()
    assert Delivery.objects.get().status == "succeeded"
    assert endpoint.degraded_since is not None
    emit_and_dispatch(data={"number": "SO-2"})
    assert queues_of(endpoint) == [DEGRADED_QUEUE]


def test_default_lane_tasks_of_an_endpoint_gone_bad_hand_over_without_an_attempt(endpoint, hook):
    hook.delay = 1.0
    for number in range(3):
        emit_and_dispatch(data={"number": number})
    assert queues_of(endpoint) == [DEFAULT_TASK_QUEUE_NAME] * 3

    # The first times out; the two queued behind it are not tried in this lane.
    run_ready_tasks(queue=DEFAULT_TASK_QUEUE_NAME)

    assert len(hook.requests) == 1
    assert DeliveryAttempt.objects.count() == 1
    assert queues_of(endpoint) == [DEGRADED_QUEUE] * 3
    handed_over = Delivery.objects.exclude(attempt_log__isnull=False)
    assert [(d.status, d.attempts) for d in handed_over] == [("pending", 0)] * 2
    assert not DBTaskResult.objects.ready().filter(queue_name=DEFAULT_TASK_QUEUE_NAME).exists()

    # The receiver is fast again: the degraded lane delivers all three, and the endpoint is
    # healthy, its next delivery in the default lane.
    hook.delay = 0.0
    make_due(Delivery.objects.get(attempts=1))
    run_ready_tasks(queue=DEGRADED_QUEUE)
    assert len(hook.requests) == 4
    assert set(Delivery.objects.values_list("status", flat=True)) == {"succeeded"}
    endpoint.refresh_from_db()
    assert endpoint.degraded_since is None
    emit_and_dispatch(data={"number": 3})
    assert queues_of(endpoint) == [DEFAULT_TASK_QUEUE_NAME]


def test_a_degraded_lane_task_of_an_endpoint_healthy_again_is_made_there(endpoint, hook):
    emit_and_dispatch()
    # Queued while the endpoint was degraded; it recovered before the task ran.
    DBTaskResult.objects.filter(task_path="events.tasks.deliver_batch").update(
        queue_name=DEGRADED_QUEUE
    )
    run_ready_tasks(queue=DEGRADED_QUEUE)
    assert Delivery.objects.get().status == "succeeded"
    assert len(hook.requests) == 1
    assert not DBTaskResult.objects.filter(
        status="READY", task_path__in=["events.tasks.deliver", "events.tasks.deliver_batch"]
    )


def test_a_redelivery_to_a_degraded_endpoint_is_made_in_the_degraded_lane():
    with receiver(script=[500] * 7) as hook:
        endpoint = services.endpoint_create(url=hook.url, events=["*"])
        emit_and_dispatch()
        delivery = Delivery.objects.get()
        for _ in range(7):
            make_due(delivery)
            run_ready_tasks()
        delivery.refresh_from_db()
        assert delivery.status == "failed"

        services.delivery_redeliver(delivery=delivery)
        run_ready_tasks(queue=DEFAULT_TASK_QUEUE_NAME)
        assert len(hook.requests) == 7
        assert queues_of(endpoint) == [DEGRADED_QUEUE]
        run_ready_tasks(queue=DEGRADED_QUEUE)
        assert len(hook.requests) == 8
        delivery.refresh_from_db()
        endpoint.refresh_from_db()
        assert (delivery.status, endpoint.degraded_since) == ("succeeded", None)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_batch_still_sending_when_slow_is_left_to_finish_on_its_own(settings):
    # The default lane's worker leaves a batch still sending after 0.2 s and goes on; the
    # batch's thread waits out the receiver (0.6 s, within the 1 s timeout) and records it.
    settings.WEBHOOK_LEAVE_SLOW_BATCHES = True
    settings.WEBHOOK_TIMEOUT_SECONDS = 1.0
    with receiver() as slow, receiver() as good:
        slow.delay = 0.6
        slow_endpoint = services.endpoint_create(url=slow.url, events=["*"])
        good_endpoint = services.endpoint_create(url=good.url, events=["*"])
        event = services.emit("order.placed", {"number": "SO-1"})

        started = time.monotonic()
        dispatched = sending.events_dispatch(event_ids=[event.pk], send=True)
        made = sending.batches_send(dispatched.batches)
        took = time.monotonic() - started

        assert took < 0.5, f"the worker was held {took:.2f} s"
        assert [attempt.delivery.endpoint_id for attempt in made] == [good_endpoint.pk]
        assert Delivery.objects.get(endpoint=good_endpoint).status == "succeeded"
        # Degraded at once: the next dispatches send its deliveries to the degraded lane.
        slow_endpoint.refresh_from_db()
        assert slow_endpoint.degraded_since is not None
        left = Delivery.objects.get(endpoint=slow_endpoint)
        assert (left.status, left.attempts) == ("pending", 1)

        deadline = time.monotonic() + 5
        while left.status == "pending" and time.monotonic() < deadline:
            time.sleep(0.05)
            left.refresh_from_db()
    assert (left.status, left.attempts) == ("succeeded", 1)
    [attempt] = left.attempt_log.all()
    assert attempt.succeeded
    assert attempt.duration_ms >= 600
    slow_endpoint.refresh_from_db()
    assert slow_endpoint.degraded_since is not None  # it answered, but slowly
    # Both batches' lease tasks are gone: nothing is sent twice.
    ready = DBTaskResult.objects.filter(status="READY")
    assert list(ready.values_list("task_path", flat=True)) == ["events.tasks.dispatch_event"]
    assert len(slow.requests) == len(good.requests) == 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_long_batch_of_quick_answers_is_waited_for_and_leaves_its_endpoint_healthy(settings):
    # Six answers of 0.1 s one after another: 0.6 s in all, past the 0.2 s of a slow answer,
    # but no answer is slow.
    settings.WEBHOOK_LEAVE_SLOW_BATCHES = True
    settings.WEBHOOK_SENDS_PER_ENDPOINT = 1
    with receiver() as hook:
        hook.delay = 0.1
        endpoint = services.endpoint_create(url=hook.url, events=["*"])
        events = [services.emit("order.placed", {"n": n}) for n in range(6)]

        dispatched = sending.events_dispatch(event_ids=[e.pk for e in events], send=True)
        made = sending.batches_send(dispatched.batches)

    assert len(made) == 6
    assert all(attempt.succeeded for attempt in made)
    endpoint.refresh_from_db()
    assert endpoint.degraded_since is None
    assert set(Delivery.objects.values_list("status", flat=True)) == {"succeeded"}


def test_an_endpoint_deleted_while_its_batch_is_sending_costs_the_others_nothing():
    with receiver() as gone, receiver() as kept:
        doomed = services.endpoint_create(url=gone.url, events=["*"])
        staying = services.endpoint_create(url=kept.url, events=["*"])
        event = services.emit("order.placed", {"number": "SO-1"})
        dispatched = sending.events_dispatch(event_ids=[event.pk], send=True)
        services.endpoint_delete(endpoint=doomed)  # meanwhile, in the API or the admin

        made = sending.batches_send(dispatched.batches)

    assert [attempt.delivery.endpoint_id for attempt in made] == [staying.pk]
    assert list(Delivery.objects.values_list("endpoint_id", "status")) == [
        (staying.pk, "succeeded")
    ]
    assert not DBTaskResult.objects.filter(task_path="events.tasks.deliver_batch").exists()
