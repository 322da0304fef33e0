"""Request budgets: per API key and per staff user, separately for reads, writes and orders."""

from unittest import mock

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from core.api.throttling import ActorRateThrottle, parse_rate

pytestmark = pytest.mark.django_db

PRODUCTS = "/api/v1/products/"
ORDERS = "/api/v1/orders/"


@pytest.fixture
def rates(monkeypatch):
    def set_rates(**rates):
        monkeypatch.setattr(ActorRateThrottle, "THROTTLE_RATES", rates)

    return set_rates


def assert_throttled(response):
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "throttled"
    assert 1 <= int(response["Retry-After"]) <= 60
    return int(response["Retry-After"])


def test_parse_rate():
    assert parse_rate("600/min") == (600, 60)
    assert parse_rate("10/s") == (10, 1)
    assert parse_rate("5000/hour") == (5000, 3600)
    assert parse_rate("1/day") == (1, 86400)


def test_reads_writes_and_orders_have_separate_budgets(rates, key_client, make_product):
    variant = make_product(stock={"S-M": 50}).variants.get()
    rates(read="2/min", write="1/min", order="1/min")
    client = key_client("catalog:write", "stock:write", "orders:write")

    assert client.get(PRODUCTS).status_code == 200
    assert client.get(PRODUCTS).status_code == 200
    assert_throttled(client.get(PRODUCTS))

    # Reads being spent leaves writes and orders untouched, and the other way round.
    adjust = f"/api/v1/variants/{variant.pk}/adjust/"
    assert client.post(adjust, {"delta": 1, "reason": "received"}, format="json").status_code == 201
    assert_throttled(client.post(adjust, {"delta": 1, "reason": "received"}, format="json"))

    order = {"lines": [{"variant": variant.pk, "quantity": 1}]}
    assert client.post(ORDERS, order, format="json").status_code == 201
    assert_throttled(client.post(ORDERS, order, format="json"))
    # A refused order took nothing: one sale only.
    variant.refresh_from_db()
    assert variant.quantity == 50 + 1 - 1


def test_each_key_and_each_user_has_its_own_budget(rates, key_client, manager_client, store_staff):
    rates(read="1/min")
    first, second = key_client(), key_client()
    clerk = APIClient()
    clerk.force_login(store_staff)

    for client in (first, second, manager_client, clerk):
        assert client.get(PRODUCTS).status_code == 200
    for client in (first, second, manager_client, clerk):
        assert_throttled(client.get(PRODUCTS))


def test_anonymous_callers_are_counted_per_address(rates):
    rates(anon="2/min")
    here, there = APIClient(REMOTE_ADDR="10.0.0.1"), APIClient(REMOTE_ADDR="10.0.0.2")
    assert here.get("/api/schema/").status_code == 200
    assert here.get("/api/schema/").status_code == 200
    assert_throttled(here.get("/api/schema/"))
    assert there.get("/api/schema/").status_code == 200


@pytest.mark.parametrize("kind", ["unknown", "revoked", "expired"])
def test_trying_keys_is_throttled_per_address(rates, make_key, kind):
    """Authentication runs before throttling; failed keys spend the address's budget."""
    from datetime import timedelta

    from django.utils import timezone

    from core.api.models import ApiKey
    from core.api.services import api_key_revoke

    rates(anon="2/min", read="100/min")
    raw_key = "nope.nope"
    if kind != "unknown":
        raw_key = make_key(name="victim")
        api_key = ApiKey.objects.get(name="victim")
        if kind == "revoked":
            api_key_revoke(api_key=api_key)
        else:
            ApiKey.objects.filter(pk=api_key.pk).update(
                expires_at=timezone.now() - timedelta(days=1)
            )
    attacker = APIClient(REMOTE_ADDR="10.0.0.9", HTTP_AUTHORIZATION=f"Api-Key {raw_key}")
    assert attacker.get(PRODUCTS).status_code == 401
    assert attacker.get(PRODUCTS).status_code == 401
    assert_throttled(attacker.get(PRODUCTS))
    # A valid key from the same address has its own budget and is served.
    good = APIClient(REMOTE_ADDR="10.0.0.9", HTTP_AUTHORIZATION=f"Api-Key {make_key()}")
    assert good.get(PRODUCTS).status_code == 200


def test_forwarded_for_does_not_pick_the_address_without_trusted_proxies(rates):
    rates(anon="1/min")
    client = APIClient(REMOTE_ADDR="10.0.0.1")
    assert client.get("/api/schema/", HTTP_X_FORWARDED_FOR="1.1.1.1").status_code == 200
    assert_throttled(client.get("/api/schema/", HTTP_X_FORWARDED_FOR="2.2.2.2"))


def test_retry_after_is_when_the_budget_frees_and_refusals_do_not_count(rates, key_client):
    rates(read="3/min")
    client = key_client()
    with mock.patch("core.api.throttling.time.time", return_value=600.0):
        for _ in range(3):
            assert client.get(PRODUCTS).status_code == 200
        # The whole window (a minute from 600.0) is left: Retry-After says so.
        assert assert_throttled(client.get(PRODUCTS)) == 60
        for _ in range(5):
            assert_throttled(client.get(PRODUCTS))

    # 45 s into the next window, a quarter of the previous window's 3 requests still count
    # (0.75); had the refusals counted, the previous window would hold 9 and refuse this.
    with mock.patch("core.api.throttling.time.time", return_value=705.0):
        assert client.get(PRODUCTS).status_code == 200
        assert client.get(PRODUCTS).status_code == 200
        # 0.75 + 3 > 3: refused until enough of the previous window has slid out, i.e. until
        # 3 * (1 - x) + 3 <= 3: the end of this window, 15 s away.
        assert assert_throttled(client.get(PRODUCTS)) == 15


def test_a_cache_outage_serves_requests_rather_than_refusing_everyone(rates, key_client, caplog):
    rates(read="1/min")
    client = key_client()
    with mock.patch.object(cache, "incr", side_effect=ConnectionError("redis is down")):
        assert client.get(PRODUCTS).status_code == 200
        assert client.get(PRODUCTS).status_code == 200
    assert "the cache is unreachable" in caplog.text


def test_a_scope_without_a_rate_is_not_throttled(rates, key_client):
    rates(write="1/min")
    client = key_client()
    for _ in range(5):
        assert client.get(PRODUCTS).status_code == 200


def test_redis_counts_in_one_round_trip_and_shares_the_numbers():
    import uuid

    import redis

    from core.api.throttling import RedisCounter

    url = "redis://127.0.0.1:6379/0"
    prefix = f"test-{uuid.uuid4().hex}:"
    one, other = RedisCounter(url, prefix), RedisCounter(url, prefix)  # two processes' clients
    try:
        one.client.set(prefix + "w9", 4)
        assert one.count("w10", "w9", ttl=120) == (1, 4)
        assert other.count("w10", "w9", ttl=120) == (2, 4)
        other.uncount("w10", ttl=120)
        assert one.count("w10", "w9", ttl=120) == (2, 4)
        assert 0 < one.client.ttl(prefix + "w10") <= 120
    finally:
        client = redis.Redis.from_url(url)
        for key in client.scan_iter(f"{prefix}*"):
            client.delete(key)


def test_the_counter_is_redis_only_with_redis_url(settings):
    from core.api.throttling import CacheCounter, RedisCounter, counter

    counter.cache_clear()
    try:
        assert isinstance(counter(), CacheCounter)
        counter.cache_clear()
        settings.REDIS_URL = "redis://127.0.0.1:6379/0"
        assert isinstance(counter(), RedisCounter)
    finally:
        counter.cache_clear()


def test_ipv6_callers_are_counted_per_64(rates):
    rates(anon="1/min")
    one = APIClient(REMOTE_ADDR="2001:db8:1:2::10")
    same_subscriber = APIClient(REMOTE_ADDR="2001:db8:1:2:ffff::99")
    neighbour = APIClient(REMOTE_ADDR="2001:db8:1:3::10")
    assert one.get("/api/schema/").status_code == 200
    assert_throttled(same_subscriber.get("/api/schema/"))
    assert neighbour.get("/api/schema/").status_code == 200
