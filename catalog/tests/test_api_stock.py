from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from core.api.models import IdempotencyKey
from core.api.services import api_key_create
from stock import services as stock_services
from stock.models import StockMovement

pytestmark = pytest.mark.django_db

MOVEMENTS = "/api/v1/stock-movements/"


def adjust_url(variant):
    return f"/api/v1/variants/{variant.pk}/adjust/"


def count_url(variant):
    return f"/api/v1/variants/{variant.pk}/count/"


@pytest.fixture
def stock_client(key_client):
    return key_client("stock:write")


@pytest.fixture
def variant(make_product):
    return make_product(name="Tee", stock={"S-M": 5}).variants.get()


def _quantity(variant):
    variant.refresh_from_db()
    return variant.quantity


def test_adjust_returns_the_variant_and_its_movement(stock_client, variant):
    response = stock_client.post(
        adjust_url(variant),
        {"delta": 12, "reason": "received", "note": "spring delivery", "reference": "DN-4711"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    movement = StockMovement.objects.get(reason="received")
    body = response.json()
    assert body["variant"]["quantity"] == 17
    assert body["variant"]["in_stock"] is True
    assert body["movement"] == {
        "id": movement.pk,
        "variant": variant.pk,
        "sku": variant.sku,
        "delta": 12,
        "quantity_after": 17,
        "reason": "received",
        "actor": movement.actor,
        "note": "spring delivery",
        "reference": "DN-4711",
        "created_at": body["movement"]["created_at"],
    }
    assert movement.actor_kind == "api_key"
    assert movement.api_key.name == movement.actor


def test_adjust_below_zero_is_insufficient_stock_and_changes_nothing(stock_client, variant):
    response = stock_client.post(
        adjust_url(variant), {"delta": -6, "reason": "damaged"}, format="json"
    )
    assert response.status_code == 409
    assert response.json() == {
        "error": {
            "code": "insufficient_stock",
            "message": "Not enough stock; nothing was changed.",
            "details": {
                "lines": [
                    {"variant": variant.pk, "sku": variant.sku, "requested": 6, "available": 5}
                ]
            },
        }
    }
    assert _quantity(variant) == 5
    assert StockMovement.objects.count() == 1


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        (
            {"delta": 1, "reason": "sale"},
            {
                "reason": [
                    '"sale" cannot be given here. Use received, returned, damaged, lost, '
                    "correction; sales and cancellations come from orders, counts from /count/."
                ]
            },
        ),
        (
            {"delta": -1, "reason": "received"},
            {"delta": ["Stock received adds to the quantity: the change must be positive."]},
        ),
        (
            {"delta": 2, "reason": "damaged"},
            {"delta": ["Stock damaged takes from the quantity: the change must be negative."]},
        ),
        ({"delta": 0, "reason": "correction"}, {"delta": ["A change of 0 changes nothing."]}),
        (
            {"delta": "x", "reason": "correction"},
            {"delta": ["Expected a whole number; got a string."]},
        ),
        (
            {"delta": 10**12, "reason": "correction"},
            {"delta": ["Ensure this value is less than or equal to 1000000."]},
        ),
        ({}, {"delta": ["This field is required."], "reason": ["This field is required."]}),
    ],
)
def test_bad_adjustments_are_refused(stock_client, variant, body, errors):
    response = stock_client.post(adjust_url(variant), body, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["details"] == errors
    assert _quantity(variant) == 5


def test_count_sets_the_quantity_and_records_the_difference(stock_client, variant):
    response = stock_client.post(
        count_url(variant),
        {"quantity": 3, "expected_quantity": 5, "note": "aisle 4"},
        format="json",
    )
    assert response.status_code == 201
    movement = response.json()["movement"]
    assert (movement["delta"], movement["quantity_after"], movement["reason"]) == (
        -2,
        3,
        "count_correction",
    )
    assert response.json()["variant"]["quantity"] == 3


def test_count_against_a_changed_quantity_is_a_mismatch(stock_client, variant):
    response = stock_client.post(
        count_url(variant), {"quantity": 1, "expected_quantity": 4}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "stock_count_mismatch"
    assert response.json()["error"]["details"] == {"expected_quantity": 4, "quantity": 5}
    assert _quantity(variant) == 5
    assert StockMovement.objects.count() == 1


def test_an_unknown_variant_is_not_found(stock_client):
    response = stock_client.post(
        "/api/v1/variants/999999/adjust/", {"delta": 1, "reason": "received"}, format="json"
    )
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("caller", "status"),
    [
        ("anonymous", 401),
        ("read key", 403),
        ("catalog key", 403),
        ("stock key", 201),
        ("manager", 201),
        ("store staff", 201),
        ("staff without group", 403),
    ],
)
def test_who_may_change_stock(
    key_client, manager, store_staff, django_user_model, variant, caller, status
):
    clients = {
        "anonymous": lambda: APIClient(),
        "read key": lambda: key_client(),
        "catalog key": lambda: key_client("catalog:write"),
        "stock key": lambda: key_client("stock:write"),
    }
    users = {
        "manager": manager,
        "store staff": store_staff,
        "staff without group": django_user_model.objects.create_user("x", is_staff=True),
    }
    if caller in clients:
        client = clients[caller]()
    else:
        client = APIClient()
        client.force_login(users[caller])
    adjusted = client.post(adjust_url(variant), {"delta": 1, "reason": "received"}, format="json")
    counted = client.post(count_url(variant), {"quantity": 9}, format="json")
    assert (adjusted.status_code, counted.status_code) == (status, status)
    assert _quantity(variant) == (9 if status == 201 else 5)


def test_a_staff_change_names_the_user(manager_client, manager, variant):
    manager_client.post(adjust_url(variant), {"delta": 2, "reason": "returned"}, format="json")
    movement = StockMovement.objects.get(reason="returned")
    assert (movement.actor_kind, movement.actor, movement.user) == ("user", "manager", manager)


# Idempotency-Key


def test_a_retry_with_the_same_key_replays_and_changes_nothing(stock_client, variant):
    body = {"delta": 4, "reason": "received"}
    first = stock_client.post(adjust_url(variant), body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    again = stock_client.post(adjust_url(variant), body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")

    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert again.json() == first.json()
    assert _quantity(variant) == 9
    assert StockMovement.objects.filter(reason="received").count() == 1


def test_the_same_key_with_another_body_is_refused(stock_client, variant):
    stock_client.post(
        adjust_url(variant),
        {"delta": 4, "reason": "received"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="k-2",
    )
    response = stock_client.post(
        adjust_url(variant),
        {"delta": 5, "reason": "received"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="k-2",
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "idempotency_key_reused"
    assert _quantity(variant) == 9


def test_a_client_error_is_stored_and_replayed(stock_client, variant):
    body = {"delta": -50, "reason": "lost"}
    first = stock_client.post(adjust_url(variant), body, format="json", HTTP_IDEMPOTENCY_KEY="k-3")
    # Stock arrives meanwhile; the retry still answers what the first request got.
    stock_services.stock_adjust(
        variant_id=variant.pk, delta=100, reason="received", actor=services_actor()
    )
    again = stock_client.post(adjust_url(variant), body, format="json", HTTP_IDEMPOTENCY_KEY="k-3")
    assert first.status_code == again.status_code == 409
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert _quantity(variant) == 105


def services_actor():
    from core.actors import system_actor

    return system_actor("test")


def test_a_server_error_is_not_stored_so_a_retry_can_succeed(stock_client, variant, monkeypatch):
    real = stock_services.stock_adjust

    def fail_once(**kwargs):
        monkeypatch.setattr(stock_services, "stock_adjust", real)
        raise RuntimeError("crash after the key was claimed")

    monkeypatch.setattr(stock_services, "stock_adjust", fail_once)
    body = {"delta": 1, "reason": "received"}
    failed = stock_client.post(adjust_url(variant), body, format="json", HTTP_IDEMPOTENCY_KEY="k-4")
    assert failed.status_code == 500
    assert not IdempotencyKey.objects.exists()

    retried = stock_client.post(
        adjust_url(variant), body, format="json", HTTP_IDEMPOTENCY_KEY="k-4"
    )
    assert retried.status_code == 201
    assert "Idempotent-Replayed" not in retried
    assert _quantity(variant) == 6


def test_keys_are_scoped_to_the_caller_and_the_path(key_client, variant):
    first, second = key_client("stock:write"), key_client("stock:write")
    body = {"delta": 1, "reason": "received"}
    for client in (first, second):
        response = client.post(
            adjust_url(variant), body, format="json", HTTP_IDEMPOTENCY_KEY="same"
        )
        assert response.status_code == 201
        assert "Idempotent-Replayed" not in response
    counted = first.post(
        count_url(variant), {"quantity": 1}, format="json", HTTP_IDEMPOTENCY_KEY="same"
    )
    assert counted.status_code == 201
    assert "Idempotent-Replayed" not in counted
    assert _quantity(variant) == 1


def test_a_key_older_than_24_hours_no_longer_counts(stock_client, variant):
    body = {"delta": 1, "reason": "received"}
    stock_client.post(adjust_url(variant), body, format="json", HTTP_IDEMPOTENCY_KEY="old")
    IdempotencyKey.objects.update(created_at=timezone.now() - timedelta(hours=25))
    response = stock_client.post(
        adjust_url(variant), body, format="json", HTTP_IDEMPOTENCY_KEY="old"
    )
    assert "Idempotent-Replayed" not in response
    assert _quantity(variant) == 7


# Empty, too long, or not printable ASCII (a NUL, an accent, a tab).
@pytest.mark.parametrize("key", ["", "   ", "x" * 256, "a\x00b", "caf\u00e9", "tab\there"])
def test_a_bad_idempotency_key_is_a_validation_error(stock_client, variant, key):
    response = stock_client.post(
        adjust_url(variant),
        {"delta": 1, "reason": "received"},
        format="json",
        HTTP_IDEMPOTENCY_KEY=key,
    )
    assert response.status_code == 400
    assert list(response.json()["error"]["details"]) == ["Idempotency-Key"]
    assert _quantity(variant) == 5


def test_a_key_of_255_characters_is_accepted(stock_client, variant):
    response = stock_client.post(
        adjust_url(variant),
        {"delta": 1, "reason": "received"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="k" * 255,
    )
    assert response.status_code == 201


def test_purge_idempotency_keys_deletes_old_ones(stock_client, variant):
    from io import StringIO

    from django.core.management import call_command

    for key in ("a", "b"):
        stock_client.post(
            adjust_url(variant),
            {"delta": 1, "reason": "received"},
            format="json",
            HTTP_IDEMPOTENCY_KEY=key,
        )
    IdempotencyKey.objects.filter(key="a").update(created_at=timezone.now() - timedelta(hours=25))
    out = StringIO()
    call_command("purge_idempotency_keys", stdout=out)
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["b"]
    assert "Deleted 1 idempotency key(s)" in out.getvalue()


# The ledger


@pytest.fixture
def ledger(make_product, stock_client):
    tee = make_product(name="Tee", stock={"S-M": 5, "L-XL": 2})
    pant = make_product(name="Pant", category="Pants", stock={"S-M": 1})
    small, large = tee.variants.get(size="S-M"), tee.variants.get(size="L-XL")
    stock_client.post(adjust_url(small), {"delta": 3, "reason": "received"}, format="json")
    stock_client.post(adjust_url(large), {"delta": -1, "reason": "damaged"}, format="json")
    stock_client.post(count_url(small), {"quantity": 7}, format="json")
    return {"tee": tee, "pant": pant, "small": small, "large": large}


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


def test_the_quantity_is_not_writable_through_the_variant(writer, variant):
    response = writer.patch(f"/api/v1/variants/{variant.pk}/", {"quantity": 50}, format="json")
    assert response.status_code == 400
    assert "/adjust/" in response.json()["error"]["details"]["quantity"][0]
    assert _quantity(variant) == 5


def test_a_key_with_history_is_revoked_not_deleted(variant):
    api_key, raw = api_key_create(name="pos", scopes=["stock:write"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    client.post(adjust_url(variant), {"delta": 1, "reason": "received"}, format="json")
    from django.db.models import ProtectedError

    with pytest.raises(ProtectedError):
        api_key.delete()
    assert StockMovement.objects.filter(api_key=api_key).count() == 1


def test_a_variant_with_stock_history_cannot_be_deleted_over_the_api(key_client, variant):
    client = key_client("stock:write", "catalog:write")
    client.post(adjust_url(variant), {"delta": -5, "reason": "lost"}, format="json")
    assert _quantity(variant) == 0

    response = client.delete(f"/api/v1/variants/{variant.pk}/")
    product_response = client.delete(f"/api/v1/products/{variant.product_id}/")

    assert response.status_code == product_response.status_code == 409
    assert response.json()["error"]["code"] == "protected"
    assert response.json()["error"]["message"] == (
        "This variant has stock history and cannot be deleted; archive its product instead."
    )
    assert product_response.json()["error"]["details"] == {"variants_with_history": [variant.sku]}
    assert StockMovement.objects.filter(variant=variant).count() == 2


def test_an_id_with_leading_zeros_is_not_another_address_for_the_same_variant(
    stock_client, variant
):
    body = {"delta": 1, "reason": "received"}
    first = stock_client.post(adjust_url(variant), body, format="json", HTTP_IDEMPOTENCY_KEY="z")
    padded = stock_client.post(
        f"/api/v1/variants/0{variant.pk}/adjust/", body, format="json", HTTP_IDEMPOTENCY_KEY="z"
    )
    assert first.status_code == 201
    assert padded.status_code == 404
    assert padded.json()["error"]["code"] == "not_found"
    assert _quantity(variant) == 6


def test_a_replay_is_json_whatever_the_retry_accepts(stock_client, variant):
    body = {"delta": 1, "reason": "received"}
    first = stock_client.post(adjust_url(variant), body, format="json", HTTP_IDEMPOTENCY_KEY="h")
    again = stock_client.post(
        adjust_url(variant), body, format="json", HTTP_IDEMPOTENCY_KEY="h", HTTP_ACCEPT="text/html"
    )
    assert again["Content-Type"] == "application/json"
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()


def _operational_error(sqlstate):
    from django.db import OperationalError

    cause = type("DriverError", (Exception,), {"sqlstate": sqlstate})("lock or outage")
    error = OperationalError("lock or outage")
    error.__cause__ = cause
    return error


@pytest.mark.parametrize(
    ("sqlstate", "status", "code", "retry_after"),
    [
        ("55P03", 409, "idempotency_in_progress", "1"),  # waited past lock_timeout
        ("08006", 503, "service_unavailable", "5"),  # the connection failed
    ],
)
def test_only_a_lock_timeout_while_claiming_a_key_means_in_progress(
    stock_client, variant, monkeypatch, sqlstate, status, code, retry_after
):
    def fail(**kwargs):
        raise _operational_error(sqlstate)

    monkeypatch.setattr(IdempotencyKey.objects, "create", fail)
    response = stock_client.post(
        adjust_url(variant),
        {"delta": 1, "reason": "received"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="l",
    )
    monkeypatch.undo()
    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert response["Retry-After"] == retry_after
    assert _quantity(variant) == 5


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


def test_a_new_variant_s_opening_movement_names_the_client(stock_client, key_client, make_product):
    api_key, raw = api_key_create(name="back-office", scopes=["catalog:write"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    product = make_product(stock={})
    client.post(
        "/api/v1/variants/", {"product": product.pk, "size": "S-M", "quantity": 7}, format="json"
    )
    client.post(
        "/api/v1/products/",
        {
            "category": "Pants",
            "name": "Chino",
            "color": "Khaki",
            "price": "60",
            "collection": "SS25",
            "variants": [{"size": "L-XL", "quantity": 3}, {"size": "S-M", "quantity": 0}],
        },
        format="json",
    )
    assert sorted(
        StockMovement.objects.values_list("reason", "delta", "actor_kind", "actor", "api_key")
    ) == [
        ("initial", 3, "api_key", "back-office", api_key.pk),
        ("initial", 7, "api_key", "back-office", api_key.pk),
    ]
