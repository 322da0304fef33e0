"""Reading the ledger over the API: lists, cursors, filters, who may, queries."""

import pytest
from rest_framework.test import APIClient

from stock.models import StockMovement
from stock.tests.api_support import MOVEMENTS, adjust_url

pytestmark = pytest.mark.django_db


def test_the_ledger_lists_every_movement_newest_first(stock_client, ledger):
    body = stock_client.get(MOVEMENTS).json()
    assert set(body) == {"next", "previous", "results"}
    assert [(m["sku"], m["reason"], m["delta"]) for m in body["results"]] == [
        (ledger["small"].sku, "count_correction", -1),
        (ledger["large"].sku, "damaged", -1),
        (ledger["small"].sku, "received", 3),
        (ledger["pant"].variants.get().sku, "initial", 1),
        (ledger["large"].sku, "initial", 2),
        (ledger["small"].sku, "initial", 5),
    ]


def test_the_ledger_pages_with_a_cursor(stock_client, ledger):
    seen, url = [], f"{MOVEMENTS}?page_size=4"
    while url:
        body = stock_client.get(url).json()
        seen += [m["id"] for m in body["results"]]
        url = body["next"]
    assert seen == sorted(StockMovement.objects.values_list("id", flat=True), reverse=True)


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"reason": "initial"}, 3),
        ({"reason": ["received", "damaged"]}, 2),
        ({"product": "tee"}, 5),
        ({"variant": "small"}, 3),
        ({"actor": "test"}, 3),
    ],
)
def test_ledger_filters(stock_client, ledger, params, expected):
    params = {
        key: ledger[value].pk if isinstance(value, str) and value in ledger else value
        for key, value in params.items()
    }
    assert len(stock_client.get(MOVEMENTS, params).json()["results"]) == expected


def test_ledger_time_range(stock_client, ledger):
    newest = StockMovement.objects.order_by("-id").first()
    after = stock_client.get(MOVEMENTS, {"created_after": newest.created_at.isoformat()}).json()
    before = stock_client.get(MOVEMENTS, {"created_before": newest.created_at.isoformat()}).json()
    assert [m["id"] for m in after["results"]] == [newest.pk]
    assert newest.pk not in [m["id"] for m in before["results"]]
    bad = stock_client.get(MOVEMENTS, {"created_after": "yesterday"})
    assert bad.status_code == 400


def test_a_variant_s_own_movements(stock_client, ledger):
    small = ledger["small"]
    body = stock_client.get(f"/api/v1/variants/{small.pk}/movements/").json()
    assert [(m["reason"], m["quantity_after"]) for m in body["results"]] == [
        ("count_correction", 7),
        ("received", 8),
        ("initial", 5),
    ]


@pytest.mark.parametrize(
    ("caller", "status"),
    [
        ("read key", 403),
        ("catalog key", 403),
        ("stock key", 200),
        ("manager", 200),
        ("store staff", 200),
    ],
)
def test_who_may_read_the_ledger(key_client, manager, store_staff, variant, caller, status):
    if caller.endswith("key"):
        client = key_client(
            *({"stock key": ["stock:write"], "catalog key": ["catalog:write"]}.get(caller, []))
        )
    else:
        client = APIClient()
        client.force_login(manager if caller == "manager" else store_staff)
    assert client.get(MOVEMENTS).status_code == status
    assert client.get(f"/api/v1/variants/{variant.pk}/movements/").status_code == status


def test_movements_cannot_be_written_through_the_api(stock_client, ledger):
    movement = StockMovement.objects.first()
    url = f"{MOVEMENTS}{movement.pk}/"
    assert stock_client.post(MOVEMENTS, {}, format="json").status_code == 405
    assert stock_client.patch(url, {"delta": 100}, format="json").status_code == 405
    assert stock_client.delete(url).status_code == 405
    assert stock_client.get(url).json()["delta"] == movement.delta


def test_ledger_queries_do_not_grow_with_the_page_size(
    stock_client, ledger, django_assert_num_queries
):
    for _ in range(10):
        stock_client.post(
            adjust_url(ledger["small"]), {"delta": 1, "reason": "received"}, format="json"
        )
    with django_assert_num_queries(2):  # API key, one page of movements with their variants
        assert len(stock_client.get(MOVEMENTS, {"page_size": 2}).json()["results"]) == 2
    with django_assert_num_queries(2):
        assert len(stock_client.get(MOVEMENTS, {"page_size": 16}).json()["results"]) == 16
    url = f"/api/v1/variants/{ledger['small'].pk}/movements/"
    with django_assert_num_queries(3):  # API key, the variant, its movements
        stock_client.get(url, {"page_size": 10})


@pytest.mark.parametrize("cursor", ["cD1hYmM=", "cD0xLjU=", "abc"])
def test_a_tampered_cursor_is_not_found(stock_client, ledger, cursor):
    for url in (MOVEMENTS, f"/api/v1/variants/{ledger['small'].pk}/movements/"):
        response = stock_client.get(url, {"cursor": cursor})
        assert response.status_code == 404
        assert response.json()["error"] == {
            "code": "not_found",
            "message": "Invalid cursor",
            "details": None,
        }


@pytest.mark.parametrize("when", ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+05:00"])
def test_a_time_the_database_cannot_store_is_a_validation_error(stock_client, when):
    response = stock_client.get(MOVEMENTS, {"created_after": when, "created_before": when})
    assert response.status_code == 400
    assert set(response.json()["error"]["details"]) == {"created_after", "created_before"}


def test_the_ledger_filters_keep_index_order(stock_client, ledger):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    params = {"reason": ["received", "damaged"], "product": ledger["tee"].pk, "actor": "x"}
    with CaptureQueriesContext(connection) as queries:
        assert stock_client.get(MOVEMENTS, params).status_code == 200
    [listing] = [q["sql"] for q in queries if "catalog_stockmovement" in q["sql"]]
    # No DISTINCT (it forces a sort of every matching row) and no join to filter by product.
    assert "DISTINCT" not in listing.upper()
    assert '"catalog_stockmovement"."product_id"' in listing
