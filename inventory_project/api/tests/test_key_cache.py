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
from inventory_project.api import key_cache
from inventory_project.api.models import ApiKey, Scope
from inventory_project.api.services import api_key_create, api_key_revoke, api_key_update

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


def test_a_revoked_key_is_refused_from_the_next_request_on(key):
    api_key, client = key
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
    first = key_cache.api_key_find(api_key.hashed_key)
    second = key_cache.api_key_find(api_key.hashed_key)
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
