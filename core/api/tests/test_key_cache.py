"""Each process remembers the API keys it found, and forgets them the moment any key changes:
a revoked key is refused from the next request on, a key's new scopes apply at once, an expired
key is refused without any write, and without a working cache nothing is taken from memory."""

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.core.cache import cache
from django.utils import timezone
from rest_framework.test import APIClient

from catalog.tests.support import commit_callbacks
from core.api import key_cache
from core.api.models import ApiKey, Scope
from core.api.services import api_key_create, api_key_revoke, api_key_update

pytestmark = pytest.mark.django_db

PRODUCTS = "/api/v1/products/"
STOCK_WRITE = "/api/v1/variants/{}/adjust/"


@pytest.fixture(autouse=True)
def remembering(settings) -> Iterator[None]:
    settings.API_KEY_CACHE_SECONDS = 60
    key_cache.forget_all()
    yield
    key_cache.forget_all()


@pytest.fixture
def key() -> tuple[ApiKey, APIClient]:
    api_key, raw = api_key_create(name="shop")
    commit_callbacks()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    return api_key, client


def _message(response: Any) -> str:
    message: str = response.json()["error"]["message"]
    return message


def test_a_remembered_key_costs_no_query(key, make_product, django_assert_num_queries):
    _, client = key
    product = make_product(stock={"S-M": 1})
    commit_callbacks()
    with django_assert_num_queries(3):  # the key, the product, its variants
        assert client.get(f"{PRODUCTS}{product.pk}/").status_code == 200
    with django_assert_num_queries(2):
        assert client.get(f"{PRODUCTS}{product.pk}/").status_code == 200


@pytest.mark.parametrize("shared", [False, True], ids=["process-cache", "redis"])
def test_a_revoked_key_is_refused_from_the_next_request_on(request, key, shared):
    if shared:  # the version checked in the budget's round trip
        request.getfixturevalue("on_redis")
    api_key, client = key
    for _ in range(2):
        assert client.get(PRODUCTS).status_code == 200
    api_key_revoke(api_key=api_key)
    commit_callbacks()
    response = client.get(PRODUCTS)
    assert response.status_code == 401
    assert _message(response) == "This API key has been revoked."


def test_a_deleted_key_is_refused_from_the_next_request_on(key):
    api_key, client = key
    assert client.get(PRODUCTS).status_code == 200
    api_key.delete()
    commit_callbacks()
    assert client.get(PRODUCTS).status_code == 401


def test_new_scopes_apply_from_the_next_request_on(key, make_product):
    api_key, client = key
    variant = make_product(stock={"S-M": 1}).variants.get()
    adjust = lambda: client.post(  # noqa: E731
        STOCK_WRITE.format(variant.pk), {"delta": 1, "reason": "received"}, format="json"
    )
    assert adjust().status_code == 403
    api_key_update(api_key=api_key, name="shop", scopes=[Scope.STOCK_WRITE], expires_at=None)
    commit_callbacks()
    assert adjust().status_code == 201
    api_key_update(api_key=api_key, name="shop", scopes=[], expires_at=None)
    commit_callbacks()
    assert adjust().status_code == 403


def test_a_key_that_expires_is_refused_without_any_write(key, monkeypatch):
    api_key, client = key
    api_key_update(
        api_key=api_key, name="shop", scopes=[], expires_at=timezone.now() + timedelta(hours=1)
    )
    commit_callbacks()
    assert client.get(PRODUCTS).status_code == 200
    later = timezone.now() + timedelta(hours=2)
    monkeypatch.setattr(timezone, "now", lambda: later)
    response = client.get(PRODUCTS)
    assert response.status_code == 401
    assert _message(response) == "This API key has expired."


def test_a_change_no_write_announced_is_seen_once_the_memory_is_old_enough(key, monkeypatch):
    api_key, client = key
    assert client.get(PRODUCTS).status_code == 200
    # Revoked by SQL by hand: no signal, no bump.
    ApiKey.objects.filter(pk=api_key.pk).update(revoked_at=timezone.now())
    assert client.get(PRODUCTS).status_code == 200  # remembered, as documented
    now = key_cache.time.monotonic()
    monkeypatch.setattr(key_cache.time, "monotonic", lambda: now + 61)
    assert client.get(PRODUCTS).status_code == 401


def test_without_a_working_cache_every_request_reads_its_key(key, monkeypatch):
    api_key, client = key
    assert client.get(PRODUCTS).status_code == 200

    def down(*args, **kwargs):
        raise ConnectionError("cache down")

    monkeypatch.setattr(cache, "get", down)
    ApiKey.objects.filter(pk=api_key.pk).update(revoked_at=timezone.now())  # unannounced
    assert client.get(PRODUCTS).status_code == 401


def test_unknown_keys_are_not_remembered(api_client):
    for n in range(5):
        api_client.credentials(HTTP_AUTHORIZATION=f"Api-Key guess-{n}")
        assert api_client.get(PRODUCTS).status_code == 401
    assert key_cache._remembered == {}


def test_each_request_gets_its_own_copy_of_a_remembered_key(key):
    api_key, _ = key
    first = key_cache.api_key_find(None, api_key.hashed_key)
    second = key_cache.api_key_find(None, api_key.hashed_key)
    assert first is not None
    assert second is not None
    assert first == second
    assert first is not second
    first.name = "changed by one request"
    assert second.name == "shop"


def test_without_the_setting_nothing_is_remembered(key, settings, django_assert_num_queries):
    settings.API_KEY_CACHE_SECONDS = 0
    _, client = key
    for _ in range(2):
        with django_assert_num_queries(2):  # the key, a page of products (none: no count)
            assert client.get(PRODUCTS).status_code == 200


@pytest.fixture
def on_redis(settings) -> Iterator[Any]:
    """The cache and the request budgets on the machine's Redis, as deployed, under a prefix of
    this test's own."""
    import uuid

    import redis

    from core.api.throttling import counter

    prefix = f"test-{uuid.uuid4().hex}"
    settings.REDIS_URL = "redis://127.0.0.1:6379/0"
    settings.CACHE_KEY_PREFIX = prefix
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": settings.REDIS_URL,
            "KEY_PREFIX": prefix,
        }
    }
    counter.cache_clear()
    yield redis.Redis.from_url(settings.REDIS_URL)
    counter.cache_clear()
    client = redis.Redis.from_url(settings.REDIS_URL)
    for stale in client.scan_iter(f"{prefix}:*"):
        client.delete(stale)


@pytest.fixture
def redis_round_trips(monkeypatch) -> list[str]:
    """Every round trip to Redis: a command, or a pipeline of them."""
    from redis import Redis
    from redis.client import Pipeline

    trips: list[str] = []
    execute_command, execute = Redis.execute_command, Pipeline.execute

    def command(client: Any, *args: Any, **kwargs: Any) -> Any:
        trips.append(str(args[0]))
        return execute_command(client, *args, **kwargs)

    def pipeline(client: Any, *args: Any, **kwargs: Any) -> Any:
        trips.append("+".join(str(c[0][0]) for c in client.command_stack))
        return execute(client, *args, **kwargs)

    monkeypatch.setattr(Redis, "execute_command", command)
    monkeypatch.setattr(Pipeline, "execute", pipeline)
    return trips


def test_with_redis_a_remembered_key_costs_its_version_and_its_budget_not_a_query(
    on_redis, key, make_product, redis_round_trips, django_assert_num_queries
):
    _, client = key
    product = make_product(stock={"S-M": 1})
    assert client.get(f"{PRODUCTS}{product.pk}/").status_code == 200  # found, remembered
    redis_round_trips.clear()
    with django_assert_num_queries(2):  # the product, its variants: not the key
        assert client.get(f"{PRODUCTS}{product.pk}/").status_code == 200
    # The keys' version, then the budget's count (and its previous window).
    assert redis_round_trips == ["GET", "INCRBY+EXPIRE+GET"]


def test_with_redis_each_request_of_a_remembered_key_counts_once(on_redis, key, monkeypatch):
    from core.api.throttling import ActorRateThrottle

    monkeypatch.setattr(ActorRateThrottle, "THROTTLE_RATES", {"read": "3/min"})
    _, client = key
    for _ in range(3):
        assert client.get(PRODUCTS).status_code == 200
    refused = client.get(PRODUCTS)
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "throttled"


def test_with_redis_down_a_remembered_key_is_read_again(on_redis, key, monkeypatch):
    from redis import Redis
    from redis.client import Pipeline
    from redis.exceptions import ConnectionError as RedisConnectionError

    api_key, client = key
    assert client.get(PRODUCTS).status_code == 200

    def down(*args: Any, **kwargs: Any) -> Any:
        raise RedisConnectionError("Redis is down")

    ApiKey.objects.filter(pk=api_key.pk).update(revoked_at=timezone.now())  # unannounced
    with monkeypatch.context() as patch:  # undone before the fixture cleans Redis up
        patch.setattr(Pipeline, "execute", down)
        patch.setattr(Redis, "execute_command", down)
        assert client.get(PRODUCTS).status_code == 401
