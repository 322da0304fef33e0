"""Two gunicorn instances on different ports, against one PostgreSQL and one Redis, behave as one
system: they never sell more than is on the shelf between them, and an Idempotency-Key holds
across them; a read cached or a key remembered by one never outlives a change made through the
other. (That they share request budgets is shown in test_throttling_shared.py.)"""

import json
import threading
import uuid
from collections import Counter

import pytest
import redis

from catalog.models import Variant
from catalog.services import VariantSpec, product_create
from core.actors import system_actor
from core.api.models import ApiKey, IdempotencyKey
from core.api.services import api_key_create, api_key_revoke
from inventory_project.tests.support import Server, database_url
from orders.models import Order
from stock.models import MovementReason, StockMovement

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

REDIS_URL = "redis://127.0.0.1:6379/0"
UNITS = 6
BUYERS = 30


@pytest.fixture
def instances():
    prefix = f"test-{uuid.uuid4().hex}"
    redis.Redis.from_url(REDIS_URL).ping()
    env = {"REDIS_URL": REDIS_URL, "CACHE_KEY_PREFIX": prefix, "GUNICORN_WORKERS": "2"}
    started = [Server(database_url(), **env), Server(database_url(), **env)]
    for server in started:
        server.cache_prefix = prefix
    yield started
    for server in started:
        server.stop()
    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(f"{prefix}:*"):
        client.delete(key)


def _variant(quantity):
    product = product_create(
        category="Tees",
        name="Last Tees",
        color="Black",
        price="25.00",
        collection="FW24",
        variants=[VariantSpec(size="L-XL", quantity=quantity)],
        actor=system_actor("test"),
    )
    return product.variants.get()


def _together(calls):
    """Run the calls at the same moment from threads; their results in order."""
    results = [None] * len(calls)
    barrier = threading.Barrier(len(calls))

    def run(index, call):
        barrier.wait()
        results[index] = call()

    threads = [threading.Thread(target=run, args=item) for item in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def _order(server, raw_key, variant, key=None):
    headers = {"Authorization": f"Api-Key {raw_key}", "Content-Type": "application/json"}
    if key:
        headers["Idempotency-Key"] = key
    body = json.dumps({"lines": [{"variant": variant.pk, "quantity": 1}]}).encode()
    return lambda: server.request("POST", "/api/v1/orders/", body, headers, timeout=30)


def test_two_instances_never_sell_more_than_the_shelf_holds(instances):
    variant = _variant(UNITS)
    _, raw_key = api_key_create(name="web-shop", scopes=["orders:write"])

    outcomes = _together([_order(instances[n % 2], raw_key, variant) for n in range(BUYERS)])

    statuses = Counter(status for status, _, _ in outcomes)
    assert statuses == {201: UNITS, 409: BUYERS - UNITS}
    for status, _, body in outcomes:
        if status == 409:
            assert json.loads(body)["error"]["code"] == "insufficient_stock"
    assert Variant.objects.get(pk=variant.pk).quantity == 0
    assert Order.objects.count() == UNITS
    assert (
        StockMovement.objects.filter(variant=variant, reason=MovementReason.ORDER_PLACED).count()
        == UNITS
    )


def test_an_idempotency_key_holds_across_instances(instances):
    variant = _variant(50)
    _, raw_key = api_key_create(name="web-shop", scopes=["orders:write"])
    key = f"checkout-{uuid.uuid4()}"

    # The same checkout retried at once through both instances, several times.
    outcomes = _together([_order(instances[n % 2], raw_key, variant, key) for n in range(8)])

    statuses = Counter(status for status, _, _ in outcomes)
    # One placed it; the others replayed its answer or were told it is still in progress.
    assert set(statuses) <= {201, 409}
    numbers = {json.loads(body)["number"] for status, _, body in outcomes if status == 201}
    assert len(numbers) == 1
    for status, headers, body in outcomes:
        if status == 409:
            assert json.loads(body)["error"]["code"] == "idempotency_in_progress"
            assert headers["Retry-After"]
    # Later retries through either instance replay the same order.
    for server in instances:
        status, headers, body = _order(server, raw_key, variant, key)()
        assert status == 201
        assert headers["Idempotent-Replayed"] == "true"
        assert json.loads(body)["number"] in numbers
    assert Order.objects.count() == 1
    assert IdempotencyKey.objects.count() == 1
    assert Variant.objects.get(pk=variant.pk).quantity == 49


def test_a_read_cached_by_one_instance_never_outlives_a_write_through_the_other(instances):
    variant = _variant(10)
    _, reader = api_key_create(name="web-shop", scopes=[])
    _, shop = api_key_create(name="till", scopes=["orders:write"])
    path = f"/api/v1/products/{variant.product_id}/"
    # One public address for both, as behind a load balancer (links and tags carry it).
    headers = {"Authorization": f"Api-Key {reader}", "Host": "127.0.0.1"}

    def quantity(server, etag=None):
        status, answer_headers, body = server.request(
            "GET", path, headers={**headers, **({"If-None-Match": etag} if etag else {})}
        )
        return (
            status,
            answer_headers["ETag"],
            json.loads(body)["variants"][0]["quantity"] if body else None,
        )

    status, etag, seen = quantity(instances[0])
    assert (status, seen) == (200, 10)
    assert quantity(instances[0], etag)[0] == 304  # kept, and unchanged
    assert quantity(instances[1], etag)[0] == 304  # the other instance shares the version

    status, _, _ = _order(instances[1], shop, variant)()
    assert status == 201
    for server in instances:
        status, new_etag, seen = quantity(server, etag)
        assert (status, seen) == (200, 9)
        assert new_etag != etag


def test_a_key_revoked_anywhere_is_refused_by_every_instance_from_the_next_request(
    instances, settings
):
    api_key, raw = api_key_create(name="till", scopes=[])
    headers = {"Authorization": f"Api-Key {raw}"}

    def statuses():
        # Enough requests that both workers of each instance answer (and remember the key).
        return {
            server.request("GET", "/api/v1/products/", headers=headers)[0]
            for server in instances
            for _ in range(6)
        }

    assert statuses() == {200}
    # Revoked by staff on a third process (the admin's), sharing the instances' Redis.
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": instances[0].cache_prefix,
        }
    }
    api_key_revoke(api_key=ApiKey.objects.get(pk=api_key.pk))
    assert statuses() == {401}
