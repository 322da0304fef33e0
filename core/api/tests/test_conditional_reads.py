"""Conditional and cached reads of the catalog: ETag, If-None-Match, and the shared read cache."""

import pytest
from django.core.cache import cache
from django.test import override_settings

from catalog.api import representations
from catalog.tests.support import commit_callbacks
from core.actors import system_actor
from stock import services as stock_services

pytestmark = pytest.mark.django_db

ACTOR = system_actor("test")
READS = [
    "/api/v1/products/",
    "/api/v1/products/?page_size=1&page=2",
    "/api/v1/products/{product}/",
    "/api/v1/variants/",
    "/api/v1/variants/?sku={sku}",
    "/api/v1/variants/{variant}/",
]
shared_cache = override_settings(READ_CACHE_SECONDS=300)


@pytest.fixture
def catalog(make_product):
    chino = make_product(name="Chino", category="Pants", stock={"One Size": 3})
    tee = make_product(name="Tee", stock={"S-M": 5, "L-XL": 2})
    variant = tee.variants.get(size="S-M")
    return {
        "product": tee.pk,
        "variant": variant.pk,
        "sku": variant.sku,
        "other_variant": chino.variants.get().pk,
    }


def _sell_one(variant_id: int) -> None:
    stock_services.stock_adjust(variant_id=variant_id, delta=-1, reason="damaged", actor=ACTOR)
    commit_callbacks()


@pytest.mark.parametrize("shared", [False, True], ids=["own cache", "shared cache"])
@pytest.mark.parametrize("address", READS)
def test_an_unchanged_read_answers_304_and_a_changed_one_200(reader, catalog, address, shared):
    url = address.format(**catalog)
    with override_settings(READ_CACHE_SECONDS=300 if shared else 0):
        commit_callbacks()
        first = reader.get(url)
        assert first.status_code == 200
        etag = first["ETag"]
        assert etag.startswith('"')
        assert first["Cache-Control"] == "private, no-cache"

        again = reader.get(url, HTTP_IF_NONE_MATCH=etag)
        assert again.status_code == 304
        assert again.content == b""
        assert again["ETag"] == etag
        # Weak comparison, a list of tags, and "*" all match.
        assert reader.get(url, HTTP_IF_NONE_MATCH=f'"x", W/{etag}').status_code == 304
        assert reader.get(url, HTTP_IF_NONE_MATCH="*").status_code == 304
        assert reader.get(url, HTTP_IF_NONE_MATCH='"other"').status_code == 200

        _sell_one(catalog["variant"])
        _sell_one(catalog["other_variant"])  # so that every page changes
        changed = reader.get(url, HTTP_IF_NONE_MATCH=etag)
        assert changed.status_code == 200
        assert changed["ETag"] != etag
        assert changed.json() != first.json()


@shared_cache
@pytest.mark.parametrize("address", READS)
def test_a_cached_read_is_the_same_answer_and_costs_only_the_key_lookup(
    reader, catalog, address, django_assert_num_queries
):
    url = address.format(**catalog)
    commit_callbacks()
    with override_settings(READ_CACHE_SECONDS=0):
        uncached = reader.get(url)
    first = reader.get(url)
    with django_assert_num_queries(1):  # the API key; the answer comes from the cache
        cached = reader.get(url)
    assert cached.status_code == 200
    assert cached.content == first.content == uncached.content
    assert cached["Content-Type"] == uncached["Content-Type"]
    with django_assert_num_queries(1):
        assert reader.get(url, HTTP_IF_NONE_MATCH=cached["ETag"]).status_code == 304


@shared_cache
def test_a_cached_list_never_outlives_a_write(reader, writer, catalog):
    commit_callbacks()
    url = f"/api/v1/variants/{catalog['variant']}/"
    assert reader.get(url).json()["quantity"] == 5
    _sell_one(catalog["variant"])
    assert reader.get(url).json()["quantity"] == 4

    response = writer.patch(f"/api/v1/products/{catalog['product']}/", {"name": "Tee II"})
    assert response.status_code == 200
    commit_callbacks()
    names = [row["name"] for row in reader.get("/api/v1/products/").json()["results"]]
    assert "Tee II" in names


@shared_cache
@override_settings(ALLOWED_HOSTS=["testserver", "shop.example.com"])
def test_addresses_do_not_share_answers_or_tags(reader, catalog):
    commit_callbacks()
    one = reader.get("/api/v1/products/?page_size=1")
    two = reader.get("/api/v1/products/?page_size=1&page=2")
    assert one.json()["results"] != two.json()["results"]
    assert one["ETag"] != two["ETag"]
    url = "/api/v1/products/?page_size=1&page=2"
    assert reader.get(url, HTTP_IF_NONE_MATCH=one["ETag"]).status_code == 200
    other_host = reader.get("/api/v1/products/?page_size=1", HTTP_HOST="shop.example.com")
    assert other_host.json()["next"].startswith("http://shop.example.com/")


@shared_cache
def test_the_caller_is_still_checked_before_a_304(api_client, make_key, catalog):
    commit_callbacks()
    url = f"/api/v1/products/{catalog['product']}/"
    api_client.credentials(HTTP_AUTHORIZATION=f"Api-Key {make_key()}")
    etag = api_client.get(url)["ETag"]
    api_client.credentials()
    response = api_client.get(url, HTTP_IF_NONE_MATCH=etag)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


@shared_cache
def test_errors_and_other_formats_are_not_cached(reader, catalog):
    commit_callbacks()
    missing = reader.get("/api/v1/products/999999/")
    assert missing.status_code == 404
    assert "ETag" not in missing
    bad = reader.get("/api/v1/products/?colour=red")
    assert bad.status_code == 400
    assert "ETag" not in bad
    indented = reader.get("/api/v1/products/", HTTP_ACCEPT="application/json; indent=2")
    assert indented.status_code == 200
    assert "ETag" not in indented
    assert b'\n  "count"' in indented.content


@shared_cache
def test_reads_are_answered_from_the_database_when_the_cache_fails(
    reader, catalog, monkeypatch, caplog
):
    commit_callbacks()
    url = f"/api/v1/products/{catalog['product']}/"
    expected = reader.get(url).content

    def broken(*args, **kwargs):
        raise ConnectionError("cache down")

    monkeypatch.setattr(cache, "get_many", broken)
    monkeypatch.setattr(cache, "set", broken)
    response = reader.get(url)
    assert response.status_code == 200
    assert response.content == expected
    assert "read cache unavailable" in caplog.text


@shared_cache
def test_a_write_that_lands_while_an_answer_is_built_retires_it(reader, catalog, monkeypatch):
    """The version is read before the database: an answer built from data that a write then
    changes is filed under the old version, which the write's bump retires. (Read after the
    database, it would be filed under the new version and served stale.)"""
    commit_callbacks()
    url = f"/api/v1/variants/{catalog['variant']}/"
    one = representations.one

    def read_then_write(*args, **kwargs):
        row = one(*args, **kwargs)
        _sell_one(catalog["variant"])
        return row

    monkeypatch.setattr(representations, "one", read_then_write)
    assert reader.get(url).json()["quantity"] == 5  # as it was when read
    monkeypatch.undo()
    assert reader.get(url).json()["quantity"] == 4
