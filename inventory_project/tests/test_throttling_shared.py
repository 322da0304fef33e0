"""Request budgets are shared through Redis by every worker of every instance."""

import json
import uuid

import pytest
import redis

from core.api.services import api_key_create
from inventory_project.tests.support import Server, database_url

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
def redis_prefix():
    """A key prefix of this test's own in the machine's Redis, deleted afterwards."""
    client = redis.Redis.from_url(REDIS_URL)
    client.ping()  # fails loudly when Redis is down, rather than testing nothing
    prefix = f"test-{uuid.uuid4().hex}"
    yield prefix
    for key in client.scan_iter(f"{prefix}:*"):
        client.delete(key)


def test_two_instances_of_two_workers_share_one_budget_per_key(redis_prefix):
    _, raw_key = api_key_create(name="web-shop")
    _, other_key = api_key_create(name="pos")
    env = {
        "REDIS_URL": REDIS_URL,
        "CACHE_KEY_PREFIX": redis_prefix,
        "THROTTLE_RATE_READ": "30/hour",
        "GUNICORN_WORKERS": "2",
    }
    instances = [Server(database_url(), **env), Server(database_url(), **env)]
    try:
        statuses = []
        for attempt in range(40):
            # A new connection each time, spread over both instances and their workers.
            status, headers, body = instances[attempt % 2].get(
                "/api/v1/products/", {"Authorization": f"Api-Key {raw_key}"}
            )
            statuses.append(status)
            if status == 429:
                assert json.loads(body)["error"]["code"] == "throttled"
                assert int(headers["Retry-After"]) >= 1
        # Counted per process, four processes would have served all 40.
        # (31 only if the test straddles the top of an hour, where two windows blend.)
        assert statuses.count(200) in (30, 31), statuses
        assert statuses.count(429) == 40 - statuses.count(200)
        # Another key's budget is its own.
        status, _, _ = instances[1].get(
            "/api/v1/products/", {"Authorization": f"Api-Key {other_key}"}
        )
        assert status == 200
    finally:
        logs = [server.stop() for server in instances]
    assert "the cache is unreachable" not in "".join(logs)


def test_without_redis_reachable_requests_are_served(redis_prefix):
    _, raw_key = api_key_create(name="web-shop")
    # Nothing listens on port 1: the cache is down from the start.
    server = Server(
        database_url(),
        REDIS_URL="redis://127.0.0.1:1/0",
        CACHE_KEY_PREFIX=redis_prefix,
        THROTTLE_RATE_READ="1/hour",
    )
    try:
        for _ in range(3):
            status, _, _ = server.get("/api/v1/products/", {"Authorization": f"Api-Key {raw_key}"})
            assert status == 200
    finally:
        log = server.stop()
    assert "the cache is unreachable" in log
