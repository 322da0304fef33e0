"""Deliveries, tried in this process against a receiver on loopback: signed per Standard
Webhooks, retried on failure with backoff, logged, never sent to a refused address."""

import json
import socket
import threading
import time
from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone
from django_tasks_db.models import DBTaskResult
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from events import delivery as sending
from events import services
from events.models import Delivery, DeliveryAttempt, WebhookEndpoint
from events.tasks import DEGRADED_QUEUE
from events.tests.receiver import receiver, run_ready_tasks

pytestmark = pytest.mark.django_db


def emit_and_dispatch(event_type="order.placed", data=None):
    event = services.emit(event_type, data or {"number": "SO-1"})
    sending.event_dispatch(event_id=event.pk)
    return event


def emit_together(count):
    """``count`` events emitted together (as one change's are), with one task to send them."""
    return services.emit_many(
        [services.Emission("order.placed", {"number": f"SO-{n}"}) for n in range(count)]
    )


def make_due(delivery):
    """Bring the delivery's retry time, and its tasks', to now (instead of waiting for them)."""
    now = timezone.now()
    Delivery.objects.filter(pk=delivery.pk, status="pending").update(next_attempt_at=now)
    DBTaskResult.objects.filter(status="READY").update(run_after=now)


def test_a_delivery_is_signed_and_verifies_with_the_standard_webhooks_verifier(endpoint, hook):
    event = emit_and_dispatch(data={"number": "SO-1", "total": "12.50"})

    run_ready_tasks()

    [request] = hook.requests
    body = Webhook(endpoint.secret).verify(request.body, request.headers)
    assert body == {
        "id": str(event.uuid),
        "type": "order.placed",
        "occurred_at": event.occurred_at.isoformat().replace("+00:00", "Z"),
        "data": {"number": "SO-1", "total": "12.50"},
    }
    assert request.headers["webhook-id"] == str(event.uuid)
    assert request.headers["Content-Type"] == "application/json"
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == ("succeeded", 1, None)
    [attempt] = delivery.attempt_log.all()
    assert (attempt.number, attempt.status_code, attempt.succeeded) == (1, 200, True)
    assert attempt.response_body == "ok"
    # The lease's task was dropped once the attempt ended: nothing is left to run.
    assert not DBTaskResult.objects.ready().exists()
    assert not DBTaskResult.objects.filter(status="READY").exists()


def test_a_wrong_secret_does_not_verify(endpoint, hook):
    emit_and_dispatch()
    run_ready_tasks()
    [request] = hook.requests
    other = services.endpoint_create(url=hook.url, events=["*"])
    with pytest.raises(WebhookVerificationError):
        Webhook(other.secret).verify(request.body, request.headers)


def test_a_failing_receiver_is_retried_with_backoff_until_it_answers_then_never_again():
    with receiver(script=[500, 503]) as hook:
        services.endpoint_create(url=hook.url, events=["*"])
        event = emit_and_dispatch()
        run_ready_tasks()
        delivery = Delivery.objects.get()
        assert (delivery.status, delivery.attempts) == ("pending", 1)
        # The first retry about 5 s later (give or take the jitter).
        wait = delivery.next_attempt_at - timezone.now()
        assert timedelta(seconds=3) < wait <= timedelta(seconds=6)
        assert run_ready_tasks() == 0  # not due yet

        make_due(delivery)
        run_ready_tasks()
        delivery.refresh_from_db()
        wait = delivery.next_attempt_at - timezone.now()
        assert timedelta(seconds=47) < wait <= timedelta(seconds=72)

        make_due(delivery)
        run_ready_tasks()
        delivery.refresh_from_db()
        assert (delivery.status, delivery.attempts) == ("succeeded", 3)
        make_due_or_none = Delivery.objects.filter(pk=delivery.pk, status="pending")
        assert not make_due_or_none.exists()
        assert run_ready_tasks() == 0

        assert len(hook.requests) == 3
        assert {r.headers["webhook-id"] for r in hook.requests} == {str(event.uuid)}
        attempts = list(DeliveryAttempt.objects.values_list("number", "status_code", "error"))
        assert attempts == [(1, 500, "HTTP 500"), (2, 503, "HTTP 503"), (3, 200, "")]


def test_after_the_last_retry_the_delivery_has_failed():
    with receiver(script=[500] * 7) as hook:
        services.endpoint_create(url=hook.url, events=["*"])
        emit_and_dispatch()
        delivery = Delivery.objects.get()
        for _ in range(7):
            make_due(delivery)
            run_ready_tasks()
        delivery.refresh_from_db()
        assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == ("failed", 7, None)
        assert len(hook.requests) == 7

        # Redelivered: a whole new round, from now.
        services.delivery_redeliver(delivery=delivery)
        run_ready_tasks()
        delivery.refresh_from_db()
        assert (delivery.status, delivery.attempts) == ("succeeded", 8)
        assert len(hook.requests) == 8


def test_redirects_are_not_followed_and_count_as_failures():
    with receiver(script=[302]) as hook:
        services.endpoint_create(url=hook.url, events=["*"])
        emit_and_dispatch()
        run_ready_tasks()
        [attempt] = DeliveryAttempt.objects.all()
        assert (attempt.status_code, attempt.succeeded) == (302, False)
        assert "redirects are not followed" in attempt.error
        assert len(hook.requests) == 1


def test_only_the_first_kilobyte_of_the_answer_is_kept(endpoint, hook):
    hook.answer = b"x" * 5000
    emit_and_dispatch()
    run_ready_tasks()
    [attempt] = DeliveryAttempt.objects.all()
    assert attempt.response_body == "x" * 1024
    assert attempt.succeeded


def test_a_receiver_slower_than_the_timeout_is_given_up_on(endpoint, hook, settings):
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.3
    hook.delay = 2.0
    emit_and_dispatch()
    run_ready_tasks()
    [attempt] = DeliveryAttempt.objects.all()
    assert attempt.status_code is None
    assert "timed out" in attempt.error
    assert attempt.duration_ms < 1500
    assert Delivery.objects.get().status == "pending"


def test_a_receiver_trickling_its_answer_is_cut_off_at_the_timeout(db, settings):
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.5
    answer = b"HTTP/1.1 200 OK\r\n" + b"X-Slow: yes\r\n" * 4
    with socket.create_server(("127.0.0.1", 0)) as server:
        stop = threading.Event()

        def trickle() -> None:
            # A byte every 0.1 s, well within a socket's timeout each, for 7 s in all.
            connection, _ = server.accept()
            with connection:
                connection.recv(65536)
                for byte in answer:
                    if stop.wait(0.1):
                        return
                    try:
                        connection.sendall(bytes([byte]))
                    except OSError:
                        return

        thread = threading.Thread(target=trickle, daemon=True)
        thread.start()
        services.endpoint_create(url=f"http://127.0.0.1:{server.getsockname()[1]}/", events=["*"])
        emit_and_dispatch()
        run_ready_tasks()
        stop.set()
        thread.join()

    [attempt] = DeliveryAttempt.objects.all()
    assert (attempt.status_code, attempt.succeeded) == (None, False)
    assert attempt.error == "TimeoutError: timed out (no whole answer within 0.5 s)"
    assert attempt.duration_ms < 1500


def test_a_receiver_that_is_down_is_logged_as_a_connection_error(db):
    with receiver() as hook:
        url = hook.url
    services.endpoint_create(url=url, events=["*"])
    emit_and_dispatch()
    run_ready_tasks()
    [attempt] = DeliveryAttempt.objects.all()
    assert attempt.status_code is None
    assert "ConnectionRefusedError" in attempt.error


def test_both_secrets_sign_for_a_day_after_a_rotation_then_only_the_new_one(endpoint, hook):
    old_secret = endpoint.secret
    rotated = services.endpoint_rotate_secret(endpoint=endpoint)
    assert rotated.secret != old_secret
    emit_and_dispatch()
    run_ready_tasks()
    [request] = hook.requests
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    Webhook(old_secret).verify(request.body, request.headers)
    Webhook(rotated.secret).verify(request.body, request.headers)

    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        previous_secret_expires_at=timezone.now() - timedelta(seconds=1)
    )
    emit_and_dispatch()
    run_ready_tasks()
    latest = hook.requests[-1]
    assert len(latest.headers["webhook-signature"].split(" ")) == 1
    Webhook(rotated.secret).verify(latest.body, latest.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(old_secret).verify(latest.body, latest.headers)


def test_an_endpoint_failing_for_a_day_is_disabled_and_its_deliveries_stop():
    with receiver(script=[500] * 10) as hook:
        endpoint = services.endpoint_create(url=hook.url, events=["*"])
        emit_and_dispatch()
        run_ready_tasks()
        endpoint.refresh_from_db()
        assert endpoint.failing_since is not None
        assert endpoint.is_active
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
            failing_since=timezone.now() - timedelta(days=1, seconds=1)
        )
        make_due(Delivery.objects.get())
        run_ready_tasks()
        endpoint.refresh_from_db()
        assert not endpoint.is_active
        assert endpoint.disabled_at is not None

        # Its pending delivery is not tried again; new events are not sent to it.
        make_due(Delivery.objects.get())
        run_ready_tasks()
        emit_and_dispatch()
        assert len(hook.requests) == 2
        assert Delivery.objects.get().status == "failed"

        # Turned on again, its failures are forgotten.
        services.endpoint_update(endpoint=endpoint, data={"is_active": True})
        endpoint.refresh_from_db()
        assert (endpoint.disabled_at, endpoint.failing_since) == (None, None)


def test_a_success_ends_the_failing_streak():
    with receiver(script=[500]) as hook:
        endpoint = services.endpoint_create(url=hook.url, events=["*"])
        emit_and_dispatch()
        run_ready_tasks()
        make_due(Delivery.objects.get())
        run_ready_tasks()
        endpoint.refresh_from_db()
        assert endpoint.failing_since is None


def test_an_attempt_claimed_by_one_worker_is_not_made_by_another(endpoint, hook):
    emit_and_dispatch()
    delivery = Delivery.objects.get()
    [batch] = sending.deliveries_claim(delivery_ids=[delivery.pk])
    assert batch.deliveries == [delivery]
    # The second worker finds it leased.
    assert sending.delivery_attempt(delivery_id=delivery.pk) is None
    assert sending.deliveries_claim(delivery_ids=[delivery.pk]) == []
    assert hook.requests == []


def test_an_attempt_whose_worker_died_is_made_again_when_its_lease_ends(endpoint, hook):
    emit_and_dispatch()
    delivery = Delivery.objects.get()
    assert sending.deliveries_claim(delivery_ids=[delivery.pk])  # ... and the worker dies here
    leased_until = Delivery.objects.get().next_attempt_at
    assert leased_until - timezone.now() > timedelta(seconds=25)
    [safety_net] = DBTaskResult.objects.filter(
        status="READY", task_path="events.tasks.deliver_batch", run_after=leased_until
    )
    assert safety_net.args_kwargs["args"] == [[delivery.pk]]

    make_due(delivery)
    run_ready_tasks()
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("succeeded", 2)
    assert len(hook.requests) == 1


def test_the_dispatch_task_sends_what_it_writes_and_drops_its_lease_task(endpoint, hook):
    with receiver() as other:
        second = services.endpoint_create(url=other.url, events=["order.placed"])
        events = emit_together(3)

        # One task, the dispatch: it writes the six deliveries, claimed, and sends them.
        assert run_ready_tasks() == 1

        assert sorted(r.headers["webhook-id"] for r in hook.requests) == sorted(
            str(event.uuid) for event in events
        )
        assert len(other.requests) == 3
        assert Delivery.objects.filter(endpoint=second, status="succeeded").count() == 3
        assert set(Delivery.objects.values_list("status", "attempts")) == {("succeeded", 1)}
        assert DeliveryAttempt.objects.filter(succeeded=True).count() == 6
        # The lease's tasks (one per endpoint) were dropped once the attempts ended.
        assert not DBTaskResult.objects.filter(status="READY").exists()


def test_a_dispatch_whose_worker_died_while_sending_is_sent_when_the_lease_ends(endpoint, hook):
    events = emit_together(3)
    [dispatch] = DBTaskResult.objects.all()
    dispatched = sending.events_dispatch(event_ids=[e.pk for e in events], send=True)
    # ... and the worker dies before sending: the task it took stays running for ever.
    DBTaskResult.objects.filter(pk=dispatch.pk).update(status="RUNNING")
    [batch] = dispatched.batches
    assert [(d.attempts, d.next_attempt_at) for d in Delivery.objects.all()] == [
        (1, batch.lease_end)
    ] * 3
    assert run_ready_tasks() == 0  # nothing is due before the lease ends

    # The lease ends.
    Delivery.objects.update(next_attempt_at=timezone.now())
    DBTaskResult.objects.filter(status="READY").update(run_after=timezone.now())
    assert run_ready_tasks() == 1
    assert set(Delivery.objects.values_list("status", "attempts")) == {("succeeded", 2)}
    assert len(hook.requests) == 3


def test_a_batch_stops_at_the_first_failure_and_hands_the_rest_to_the_degraded_lane(settings):
    settings.WEBHOOK_SENDS_PER_ENDPOINT = 1
    with receiver(script=[200, 500]) as hook:
        services.endpoint_create(url=hook.url, events=["*"])
        emit_together(4)

        assert run_ready_tasks(limit=1) == 1

        assert len(hook.requests) == 2
        rows = list(Delivery.objects.order_by("id").values_list("status", "attempts"))
        assert rows == [("succeeded", 1), ("pending", 1), ("pending", 0), ("pending", 0)]
        ready = DBTaskResult.objects.filter(status="READY")
        assert (
            sorted(ready.values_list("task_path", "queue_name"))
            == [("events.tasks.deliver", DEGRADED_QUEUE)] * 3
        )


def test_a_batch_starts_no_attempt_that_could_outlast_its_lease(settings, endpoint, hook):
    settings.WEBHOOK_SENDS_PER_ENDPOINT = 1
    settings.WEBHOOK_TIMEOUT_SECONDS = 1
    settings.WEBHOOK_ATTEMPT_LEASE_SECONDS = 2.5
    settings.WEBHOOK_SLOW_SECONDS = 1
    hook.delay = 0.3  # each attempt a third of a second; 0.5 s after the claim, no more start
    emit_together(6)

    assert run_ready_tasks(limit=1) == 1

    assert len(hook.requests) == 2
    rows = list(Delivery.objects.order_by("id").values_list("status", "attempts"))
    assert rows == [("succeeded", 1)] * 2 + [("pending", 0)] * 4
    # The rest wait, due now, for one task in the same lane.
    [rest] = DBTaskResult.objects.filter(status="READY")
    assert (rest.task_path, rest.queue_name) == ("events.tasks.deliver_batch", "default")
    assert sorted(rest.args_kwargs["args"][0]) == sorted(
        Delivery.objects.filter(attempts=0).values_list("id", flat=True)
    )


def test_sends_to_one_endpoint_run_side_by_side_up_to_the_setting(settings, endpoint, hook):
    settings.WEBHOOK_SENDS_PER_ENDPOINT = 4
    hook.delay = 0.4
    emit_together(8)
    started = time.monotonic()

    run_ready_tasks(limit=1)

    took = time.monotonic() - started
    assert set(Delivery.objects.values_list("status", flat=True)) == {"succeeded"}
    # Two rounds of four, not eight one after another (3.2 s).
    assert 0.8 <= took < 2.0, took
    assert hook.max_in_flight == 4


@override_settings(WEBHOOK_ALLOW_PRIVATE_TARGETS=False)
def test_a_delivery_to_a_private_address_is_refused_at_sending(hook):
    # Saved while allowed (as a name could resolve to a public address when saved).
    with override_settings(WEBHOOK_ALLOW_PRIVATE_TARGETS=True):
        services.endpoint_create(url=hook.url, events=["*"])
    emit_and_dispatch()
    run_ready_tasks()
    [attempt] = DeliveryAttempt.objects.all()
    assert attempt.status_code is None
    assert "https" in attempt.error
    assert hook.requests == []


def test_the_body_is_compact_json_with_the_sequence_of_a_stock_level(endpoint, hook):
    services.emit("stock_level.updated", {"on_hand": 3}, sequence=7)
    run_ready_tasks()
    [request] = hook.requests
    assert json.loads(request.body)["sequence"] == 7
    assert b" " not in request.body
