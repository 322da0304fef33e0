"""Real worker processes (``manage.py db_worker``) against the test database, delivering to a
real receiver on loopback: signed deliveries, retries until the receiver answers and then never
again, nothing for a rolled-back change, two workers never making the same attempt, HTTPS with
the CA the worker's environment trusts, and bad endpoints kept out of the good ones' way."""

import json
import os
import subprocess
import sys
import time
from contextlib import ExitStack, contextmanager
from datetime import datetime

import pytest
from django.db import transaction
from standardwebhooks.webhooks import Webhook

from events import services
from events.models import Delivery, DeliveryAttempt, WebhookEndpoint
from events.tasks import DEGRADED_QUEUE
from events.tests.receiver import make_certificates, receiver
from inventory_project.tests.support import ROOT, database_url

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@contextmanager
def worker(lease="10", queue="*", **environment):
    """A worker process on the test database running the tasks of ``queue`` (all by default),
    with retries a fraction of a second apart (and ``environment`` added to its environment)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env.update(
        DJANGO_SETTINGS_MODULE="inventory_project.settings.test",
        DATABASE_URL=database_url(),
        WEBHOOK_ALLOW_PRIVATE_TARGETS="1",
        WEBHOOK_RETRY_DELAYS="0.3,0.3,0.3,0.3,0.3,0.3",
        WEBHOOK_ATTEMPT_LEASE_SECONDS=lease,
        WEBHOOK_LEAVE_SLOW_BATCHES="1",  # as deployed
        **environment,
    )
    process = subprocess.Popen(
        [
            *(sys.executable, "manage.py", "db_worker", "--queue-name", queue, "--no-reload"),
            *("--interval", "0.05", "--no-startup-delay", "--verbosity", "0"),
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _settle(hook, count, quiet=1.5):
    """The receiver's requests once it has ``count``, and nothing more came for ``quiet``."""
    hook.wait_for(count, timeout=30)
    time.sleep(quiet)
    return list(hook.requests)


def test_a_receiver_failing_twice_gets_the_event_three_times_then_never_again():
    with receiver(script=[500, 502]) as hook, worker():
        endpoint = services.endpoint_create(url=hook.url, events=["order.placed"])
        event = services.emit("order.placed", {"number": "SO-1"})
        services.emit("product.created", {"id": 1})  # not subscribed

        requests = _settle(hook, 3)

    assert len(requests) == 3
    for request in requests:
        body = Webhook(endpoint.secret).verify(request.body, request.headers)
        assert body["id"] == str(event.uuid)
        assert body["data"] == {"number": "SO-1"}
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts) == ("succeeded", 3)
    codes = list(DeliveryAttempt.objects.order_by("number").values_list("status_code", flat=True))
    assert codes == [500, 502, 200]


def test_a_rolled_back_change_sends_nothing():
    class Boom(Exception):
        pass

    def rolled_back():
        with transaction.atomic():
            services.emit("order.placed", {"number": "ROLLED-BACK"})
            raise Boom

    with receiver() as hook, worker():
        services.endpoint_create(url=hook.url, events=["*"])
        with pytest.raises(Boom):
            rolled_back()
        services.emit("order.placed", {"number": "COMMITTED"})
        requests = _settle(hook, 1)

    assert [json.loads(r.body)["data"]["number"] for r in requests] == ["COMMITTED"]


def test_two_workers_never_make_the_same_attempt():
    with receiver(script=[500] * 10) as hook, ExitStack() as stack:
        services.endpoint_create(url=hook.url, events=["*"])
        for number in range(40):
            services.emit("order.placed", {"number": number})
        stack.enter_context(worker())
        stack.enter_context(worker())
        # 40 deliveries; the first 10 answers fail, and those deliveries are tried again.
        requests = _settle(hook, 50, quiet=2)

    attempts = list(DeliveryAttempt.objects.values_list("delivery_id", "number"))
    assert len(attempts) == len(set(attempts)) == 50
    assert len(requests) == 50
    ids = [r.headers["webhook-id"] for r in requests]
    assert len(set(ids)) == 40
    assert set(Delivery.objects.values_list("status", flat=True)) == {"succeeded"}


def test_an_attempt_whose_worker_is_killed_mid_delivery_is_made_again_by_another():
    with receiver() as hook:
        hook.delay = 3.0  # the first delivery hangs while its worker is killed
        endpoint = services.endpoint_create(url=hook.url, events=["*"])
        event = services.emit("order.placed", {"number": "SO-1"})
        # A short lease, and a timeout shorter still (the workers refuse to start otherwise).
        short = {"lease": "2", "WEBHOOK_TIMEOUT_SECONDS": "1"}
        with worker(**short) as first:
            hook.wait_for(1)
            first.kill()
            first.wait()
        hook.delay = 0.0
        with worker(**short):
            requests = _settle(hook, 2, quiet=1)

    assert len(requests) == 2
    for request in requests:
        assert Webhook(endpoint.secret).verify(request.body, request.headers)["id"] == str(
            event.uuid
        )
    delivery = Delivery.objects.get()
    # The killed attempt counts (the receiver may have had it); the second is logged.
    assert (delivery.status, delivery.attempts) == ("succeeded", 2)
    assert list(DeliveryAttempt.objects.values_list("number", "status_code")) == [(2, 200)]


def test_over_https_a_worker_delivers_to_certificates_its_ca_signed_for_the_host_and_no_other(
    certificates, tmp_path
):
    untrusted = make_certificates(tmp_path)  # the same names, signed by a CA nobody trusts
    with (
        receiver(certificate=certificates.localhost) as hook,
        receiver(certificate=certificates.other_host) as other_host,
        receiver(certificate=untrusted.localhost) as not_trusted,
        worker(SSL_CERT_FILE=str(certificates.ca)) as process,
    ):
        endpoint = services.endpoint_create(url=hook.url, events=["*"])
        refused = {
            services.endpoint_create(url=other_host.url, events=["*"]).pk: "Hostname mismatch",
            services.endpoint_create(url=not_trusted.url, events=["*"]).pk: "local issuer",
        }
        event = services.emit("order.placed", {"number": "SO-1"})
        requests = _settle(hook, 1)
        # Every attempt at the two others fails (seven, 0.3 s apart), and then the delivery.
        deadline = time.monotonic() + 30
        while Delivery.objects.filter(status="pending").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert process.poll() is None  # the worker is still running

    [request] = requests
    body = Webhook(endpoint.secret).verify(request.body, request.headers)
    assert (body["id"], body["data"]) == (str(event.uuid), {"number": "SO-1"})
    assert hook.server_names == ["localhost"]
    assert other_host.requests == not_trusted.requests == []
    assert Delivery.objects.get(endpoint=endpoint).status == "succeeded"
    for endpoint_id, reason in refused.items():
        delivery = Delivery.objects.get(endpoint_id=endpoint_id)
        assert (delivery.status, delivery.attempts) == ("failed", 7)
        errors = delivery.attempt_log.values_list("status_code", "error")
        assert len(errors) == 7
        for status_code, error in errors:
            assert status_code is None
            assert error.startswith("SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED]")
            assert reason in error


def test_slow_failing_and_hanging_up_endpoints_do_not_hold_up_a_good_ones_deliveries():
    # Workers as `make run` starts them: one per lane. An attempt times out after 3 s; one
    # that takes longer than 0.5 s leaves its endpoint degraded.
    settings = {"WEBHOOK_TIMEOUT_SECONDS": "3", "WEBHOOK_SLOW_SECONDS": "0.5"}
    with (
        receiver() as good,
        receiver() as slow,
        receiver(script=[500] * 1000) as failing,
        receiver() as hanging_up,
        worker(queue="default", **settings),
        worker(queue=DEGRADED_QUEUE, **settings),
    ):
        slow.delay = 5.0
        hanging_up.hang_up = True
        fast = services.endpoint_create(url=good.url, events=["*"])
        services.emit("order.placed", {"number": "warm-up"})
        good.wait_for(1)  # the workers are up
        bad = [
            services.endpoint_create(url=hook.url, events=["*"])
            for hook in (slow, failing, hanging_up)
        ]

        for number in range(20):  # over 2 s
            services.emit("order.placed", {"number": number})
            time.sleep(0.1)
        good.wait_for(21, timeout=60)
        slow_requests = len(slow.requests)
        slow_pending = Delivery.objects.filter(endpoint=bad[0], status="pending").count()

    lags = [
        request.received_at - datetime.fromisoformat(body["occurred_at"]).timestamp()
        for request in good.requests
        if (body := json.loads(request.body))["data"]["number"] != "warm-up"
    ]
    # Had the default lane's worker waited out the slow endpoint's timeout, the events emitted
    # meanwhile would have waited up to 3 s; it leaves that batch after 0.5 s and goes on.
    assert len(lags) == 20
    assert max(lags) < 1.5, f"the good endpoint's events came up to {max(lags):.2f} s late"
    assert slow_requests < 20
    assert slow_pending == 20
    assert set(Delivery.objects.filter(endpoint=fast).values_list("status", "attempts")) == {
        ("succeeded", 1)
    }
    degraded = dict(WebhookEndpoint.objects.values_list("pk", "degraded_since"))
    assert degraded.pop(fast.pk) is None
    assert None not in degraded.values()
    assert set(degraded) == {endpoint.pk for endpoint in bad}
