"""The outbox: an event and its task are written in the transaction of the change, so a change
rolled back leaves neither, and a committed one both."""

import time
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command, get_commands, load_command_class
from django.db import transaction
from django.test import override_settings
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from events import delivery, services
from events.delivery import STALE_DISPATCH
from events.management.commands.db_worker import POLL_INTERVAL_SECONDS
from events.models import Delivery, Event, WebhookEndpoint
from events.tests.receiver import run_ready_tasks

pytestmark = pytest.mark.django_db


class Boom(Exception):
    pass


def test_an_event_emitted_in_a_rolled_back_transaction_leaves_no_event_and_no_task():
    def change_that_fails():
        with transaction.atomic():
            services.emit("order.placed", {"number": "SO-1"})
            assert Event.objects.count() == 1
            raise Boom

    with pytest.raises(Boom):
        change_that_fails()

    assert Event.objects.count() == 0
    assert DBTaskResult.objects.count() == 0


def test_a_committed_event_has_its_task_written_with_it():
    with transaction.atomic():
        event = services.emit("order.placed", {"number": "SO-1"})

    [task] = DBTaskResult.objects.all()
    assert task.task_path == "events.tasks.dispatch_event"
    assert task.args_kwargs == {"args": [event.pk], "kwargs": {}}
    assert task.status == "READY"


def test_a_dispatch_is_due_after_the_batch_window_and_sends_the_windows_events(hook):
    endpoint = services.endpoint_create(url=hook.url, events=["*"])
    with override_settings(WEBHOOK_BATCH_WINDOW_SECONDS=0.2):
        first = services.emit("order.placed", {"number": "SO-1"})
        second = services.emit("order.placed", {"number": "SO-2"})
    tasks = list(DBTaskResult.objects.order_by("run_after"))
    assert [task.args_kwargs["args"] for task in tasks] == [[first.pk], [second.pk]]
    for task, event in zip(tasks, (first, second), strict=True):
        assert task.run_after == event.occurred_at + timedelta(seconds=0.2)
    assert run_ready_tasks() == 0  # not due yet

    DBTaskResult.objects.update(run_after=timezone.now())  # the window has passed
    assert run_ready_tasks() == 1  # the first sends both; the second's task is dropped

    assert Delivery.objects.filter(endpoint=endpoint, status="succeeded").count() == 2
    assert not DBTaskResult.objects.filter(status="READY").exists()


def test_an_idle_worker_looks_for_due_tasks_well_within_the_batch_window():
    parser = load_command_class("events", "db_worker").create_parser("manage.py", "db_worker")
    interval = parser.parse_args([]).interval
    assert interval == POLL_INTERVAL_SECONDS == 0.1
    assert get_commands()["db_worker"] == "events"  # ours, not the library's


def test_emitting_costs_two_queries(django_assert_num_queries):
    with django_assert_num_queries(2):
        services.emit("product.created", {"id": 1})


def test_dispatch_writes_a_delivery_to_each_active_subscribed_endpoint(hook):
    everything = services.endpoint_create(url=hook.url, events=["*"])
    orders = services.endpoint_create(url=hook.url, events=["order.placed", "order.paid"])
    services.endpoint_create(url=hook.url, events=["product.created"])
    services.endpoint_create(url=hook.url, events=["*"], is_active=False)
    event = services.emit("order.placed", {"number": "SO-1"})

    run_ready_tasks(limit=1)

    deliveries = Delivery.objects.filter(event=event).order_by("endpoint_id")
    assert [d.endpoint_id for d in deliveries] == [everything.pk, orders.pk]
    event.refresh_from_db()
    assert event.dispatched_at is not None
    # The dispatch task sent both itself, and no task is left.
    assert len(hook.requests) == 2
    assert set(deliveries.values_list("status", flat=True)) == {"succeeded"}
    assert not DBTaskResult.objects.filter(status="READY").exists()


def test_dispatch_outside_the_task_leaves_one_task_per_endpoint(hook):
    everything = services.endpoint_create(url=hook.url, events=["*"])
    orders = services.endpoint_create(url=hook.url, events=["order.placed"])
    with transaction.atomic():
        placed = [services.emit("order.placed", {"number": f"SO-{n}"}) for n in range(3)]
        paid = services.emit("order.paid", {"number": "SO-1"})
    from events.delivery import events_dispatch

    dispatched = events_dispatch(event_ids=[*(e.pk for e in placed), paid.pk])

    assert (dispatched.events, dispatched.deliveries, dispatched.batches) == (4, 7, [])
    batches = DBTaskResult.objects.filter(task_path="events.tasks.deliver_batch")
    by_endpoint = {
        endpoint.pk: sorted(endpoint.deliveries.values_list("pk", flat=True))
        for endpoint in (everything, orders)
    }
    assert sorted(sorted(task.args_kwargs["args"][0]) for task in batches) == sorted(
        by_endpoint.values()
    )
    assert not Delivery.objects.exclude(attempts=0).exists()


def test_dispatching_twice_delivers_once(hook):
    services.endpoint_create(url=hook.url, events=["*"])
    event = services.emit("order.placed", {"number": "SO-1"})
    from events.delivery import event_dispatch

    assert event_dispatch(event_id=event.pk) == 1
    assert event_dispatch(event_id=event.pk) == 0
    assert Delivery.objects.count() == 1


def test_a_burst_with_one_key_is_coalesced_into_one_event_with_the_latest_data():
    first = services.emit("stock_level.updated", {"on_hand": 5}, key="level:1:1", sequence=1)
    second = services.emit("stock_level.updated", {"on_hand": 4}, key="level:1:1", sequence=2)
    other = services.emit("stock_level.updated", {"on_hand": 9}, key="level:2:1", sequence=1)

    assert second.pk == first.pk
    assert other.pk != first.pk
    first.refresh_from_db()
    assert (first.data, first.sequence) == ({"on_hand": 4}, 2)
    assert Event.objects.count() == 2


def test_a_key_already_sent_out_starts_a_new_event(hook):
    first = services.emit("stock_level.updated", {"on_hand": 5}, key="level:1:1", sequence=1)
    Event.objects.filter(pk=first.pk).update(dispatched_at=first.occurred_at)

    second = services.emit("stock_level.updated", {"on_hand": 4}, key="level:1:1", sequence=2)

    assert second.pk != first.pk


def test_an_unknown_event_type_is_a_programming_error():
    with pytest.raises(ValueError, match="Unknown event type"):
        services.emit("order.lost", {})
    assert not WebhookEndpoint.objects.exists()


def test_an_event_whose_dispatching_worker_died_is_dispatched_by_the_next_dispatch(hook):
    endpoint = services.endpoint_create(url=hook.url, events=["*"])
    lost = services.emit("order.placed", {"number": "SO-1"})
    # Its worker claimed the task and died: the queue leaves the task running, undone.
    DBTaskResult.objects.filter(args_kwargs__args=[lost.pk]).update(status="RUNNING")
    Event.objects.filter(pk=lost.pk).update(
        occurred_at=timezone.now() - STALE_DISPATCH - timedelta(seconds=1)
    )
    recent = services.emit("order.placed", {"number": "SO-2"})
    Event.objects.filter(pk=recent.pk).update(occurred_at=timezone.now() - timedelta(seconds=5))

    run_ready_tasks(limit=1)  # the next event's dispatch

    assert set(Delivery.objects.values_list("event_id", "endpoint_id")) == {
        (lost.pk, endpoint.pk),
        (recent.pk, endpoint.pk),
    }


def test_a_dispatch_takes_on_the_events_due_beside_its_own_and_drops_their_tasks(hook):
    endpoint = services.endpoint_create(url=hook.url, events=["*"])
    first, second, third = (services.emit("order.placed", {"n": n}) for n in range(3))
    # A keyed event waits out its window (it may yet gather a burst); once past it, it is due.
    waiting = services.emit("stock_level.updated", {"on_hand": 4}, key="level:1:1", sequence=1)
    past = services.emit("stock_level.updated", {"on_hand": 7}, key="level:2:1", sequence=1)
    Event.objects.filter(pk=past.pk).update(occurred_at=timezone.now() - timedelta(seconds=2))

    assert run_ready_tasks(limit=1) == 1  # the first event's dispatch

    sent = {first.pk, second.pk, third.pk, past.pk}
    assert set(Delivery.objects.values_list("event_id", flat=True)) == sent
    assert Delivery.objects.filter(status="succeeded", endpoint=endpoint).count() == 4
    assert len(hook.requests) == 4
    assert not Event.objects.filter(pk__in=sent, dispatched_at__isnull=True).exists()
    waiting.refresh_from_db()
    assert waiting.dispatched_at is None
    # The dispatch tasks of the events taken on are gone; the waiting one's stays, for later.
    left = DBTaskResult.objects.filter(status="READY")
    assert [(row.task_path, row.args_kwargs["args"]) for row in left] == [
        ("events.tasks.dispatch_event", [waiting.pk])
    ]


def test_a_dispatch_takes_on_the_keyed_events_due_within_the_batch_window(hook, settings):
    settings.WEBHOOK_BATCH_WINDOW_SECONDS = 0.2
    services.endpoint_create(url=hook.url, events=["*"])
    own = services.emit("order.placed", {"n": 1})
    soon = services.emit("stock_level.updated", {"on_hand": 4}, key="level:1:1", sequence=1)
    later = services.emit("stock_level.updated", {"on_hand": 7}, key="level:2:1", sequence=1)
    now = timezone.now()
    # Due in 0.1 s (within the window) and in 0.5 s (past it).
    Event.objects.filter(pk=soon.pk).update(occurred_at=now - timedelta(seconds=0.9))
    Event.objects.filter(pk=later.pk).update(occurred_at=now - timedelta(seconds=0.5))

    dispatched = delivery.events_dispatch(event_ids=[own.pk], sweep=True)

    assert dispatched.events == 2
    assert set(Event.objects.filter(dispatched_at__isnull=False).values_list("pk", flat=True)) == {
        own.pk,
        soon.pk,
    }


def test_purge_events_dispatches_the_events_whose_worker_died(hook):
    services.endpoint_create(url=hook.url, events=["*"])
    lost = services.emit("order.placed", {"number": "SO-1"})
    DBTaskResult.objects.update(status="RUNNING")
    fresh = services.emit("order.placed", {"number": "SO-2"})  # its task will do: left alone
    Event.objects.filter(pk=lost.pk).update(
        occurred_at=timezone.now() - STALE_DISPATCH - timedelta(seconds=1)
    )
    out = StringIO()

    call_command("purge_events", stdout=out)

    assert "Dispatched 1 event(s)" in out.getvalue()
    assert list(Delivery.objects.values_list("event_id", flat=True)) == [lost.pk]
    fresh.refresh_from_db()
    assert fresh.dispatched_at is None


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_dispatch_waits_for_no_lock_and_leaves_an_event_being_coalesced_to_a_later_task():
    import psycopg

    from inventory_project.tests.support import database_url

    event = services.emit("stock_level.updated", {"on_hand": 4}, key="level:1:1", sequence=1)
    DBTaskResult.objects.all().delete()
    # Another transaction holds the event, as an emission coalescing into it does.
    with psycopg.connect(database_url()) as other:
        other.execute("SELECT id FROM events_event WHERE id = %s FOR UPDATE", [event.pk])
        started = time.monotonic()
        dispatched = delivery.events_dispatch(event_ids=[event.pk], send=True)
        took = time.monotonic() - started
        other.rollback()

    assert dispatched.events == 0
    assert took < 1
    [later] = DBTaskResult.objects.all()
    assert (later.task_path, later.args_kwargs["args"]) == (
        "events.tasks.dispatch_events",
        [[event.pk]],
    )
    assert later.run_after > timezone.now()
    event.refresh_from_db()
    assert event.dispatched_at is None
