"""A gunicorn worker killed (SIGKILL) in the middle of placing an order.

The worker is frozen at a test-only pause point and killed there; the client sees its
connection drop without an answer and retries with the same ``Idempotency-Key``:

- inside ``order_place``'s transaction (the stock taken, the order, its line, the movement and
  the key written, nothing committed): PostgreSQL rolls everything back when the connection
  drops, and the retry places the order, once;
- after the commit, with only the answer still to send: the order stands, and the retry
  replays it rather than placing it a second time.
"""

import json
import os
import re
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.db import connection

from catalog.models import Variant
from core.api.idempotency import REPLAYED_HEADER
from core.api.models import IdempotencyKey, Scope
from core.api.services import api_key_create
from core.testing import PAUSE_AT_VARIABLE, PID_FILE_VARIABLE
from inventory_project.tests.support import Server, database_url
from orders.models import Order
from stock.models import StockMovement

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

ORDERS = "/api/v1/orders/"
WAIT = 20


def _wait_for(condition, what):
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        if result := condition():
            return result
        time.sleep(0.05)
    pytest.fail(f"gave up waiting for {what}")


def _pid_in(pid_file: Path) -> int | None:
    return int(pid_file.read_text()) if pid_file.exists() else None


def _sessions_in_transaction() -> int:
    """Other connections to this database holding a transaction open."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND pid <> pg_backend_pid() AND state LIKE 'idle in transaction%%'"
        )
        return int(cursor.fetchone()[0])


def _workers_booted(log: str) -> list[int]:
    return [int(pid) for pid in re.findall(r"Booting worker with pid: (\d+)", log)]


@pytest.fixture
def order_request(make_product):
    """A variant with 5 in stock, and a client app's request for 2 of it, with its key."""
    variant = make_product(stock={"S-M": 5}).variants.get()
    _, raw_key = api_key_create(name="web-shop", scopes=[Scope.ORDERS_WRITE])
    headers = {
        "Authorization": f"Api-Key {raw_key}",
        "Content-Type": "application/json",
        "Idempotency-Key": "order-kill-1",
    }
    body = json.dumps(
        {"lines": [{"variant": variant.pk, "quantity": 2}], "customer_reference": "kill-1"}
    ).encode()
    return variant, body, headers


def _post_and_kill_the_worker_at(point, body, headers, pid_file, *, in_transaction):
    """Post the order to a server whose workers pause at ``point``, SIGKILL the worker there,
    and check that the client got no answer and the master replaced the worker."""
    server = Server(database_url(), **{PAUSE_AT_VARIABLE: point, PID_FILE_VARIABLE: str(pid_file)})
    try:
        booted = _workers_booted(server.log())
        with ThreadPoolExecutor(max_workers=1) as pool:
            posted = pool.submit(server.request, "POST", ORDERS, body, headers, 30)
            paused = _wait_for(lambda: _pid_in(pid_file), f"a worker to reach {point}")
            assert paused in booted
            # Before the commit its writes wait in an open transaction; after it, none is open.
            assert _sessions_in_transaction() == (1 if in_transaction else 0)
            os.kill(paused, signal.SIGKILL)
            with pytest.raises(ConnectionError):
                posted.result(timeout=WAIT)
        # The master starts a worker in its place, and the server goes on serving.
        respawned = _wait_for(
            lambda: set(_workers_booted(server.log())) - set(booted), "a new worker"
        )
        assert paused not in respawned
        assert server.get("/healthz")[0] == 200
    finally:
        server.stop()
    _wait_for(lambda: _sessions_in_transaction() == 0, "the killed worker's session to end")


def _retry_twice(body, headers):
    """The client's retries with the same key, on a server without the pause."""
    server = Server(database_url())
    try:
        return [server.request("POST", ORDERS, body, headers) for _ in range(2)]
    finally:
        server.stop()


def _assert_placed_once(variant, number, movements):
    order = Order.objects.get()
    assert (order.number, order.customer_reference) == (number, "kill-1")
    assert list(order.lines.values_list("variant_id", "quantity")) == [(variant.pk, 2)]
    assert Variant.objects.values_list("quantity", "committed").get(pk=variant.pk) == (3, 2)
    placed = StockMovement.objects.exclude(pk__in=movements).get()
    assert (
        placed.variant_id,
        placed.reason,
        placed.delta,
        placed.committed_delta,
        placed.reference,
    ) == (variant.pk, "order_placed", 0, 2, number)
    assert IdempotencyKey.objects.get().key == "order-kill-1"


def test_a_worker_killed_inside_the_transaction_leaves_nothing_and_the_retry_places_it_once(
    tmp_path, order_request
):
    variant, body, headers = order_request
    movements = list(StockMovement.objects.values_list("pk", flat=True))

    # When the worker is killed with the order written but not committed
    _post_and_kill_the_worker_at(
        "order_place", body, headers, tmp_path / "paused.pid", in_transaction=True
    )

    # Then PostgreSQL rolled everything back: no order (nor line), no stock change, no movement,
    # no idempotency key that would replay an order that does not exist
    assert not Order.objects.exists()
    assert Variant.objects.values_list("quantity", "committed").get(pk=variant.pk) == (5, 0)
    assert list(StockMovement.objects.values_list("pk", flat=True)) == movements
    assert not IdempotencyKey.objects.exists()

    # When the client retries with the same key
    (status, first_headers, first), (again_status, again_headers, again) = _retry_twice(
        body, headers
    )

    # Then the order is placed, once; a further retry replays it
    assert status == 201, first
    assert REPLAYED_HEADER not in first_headers
    number = json.loads(first)["number"]
    assert (again_status, again_headers[REPLAYED_HEADER]) == (201, "true")
    assert json.loads(again)["number"] == number
    _assert_placed_once(variant, number, movements)


def test_a_worker_killed_after_the_commit_keeps_the_order_and_the_retry_replays_it(
    tmp_path, order_request
):
    variant, body, headers = order_request
    movements = list(StockMovement.objects.values_list("pk", flat=True))

    # When the worker is killed after the commit, before its answer goes out
    _post_and_kill_the_worker_at(
        "idempotency_stored", body, headers, tmp_path / "paused.pid", in_transaction=False
    )
    number = Order.objects.get().number

    # Then the client's retries replay the order it never heard of, and place nothing more
    for status, answer_headers, answer in _retry_twice(body, headers):
        assert (status, answer_headers[REPLAYED_HEADER]) == (201, "true"), answer
        assert json.loads(answer)["number"] == number
    _assert_placed_once(variant, number, movements)
