"""Idempotency-Key on the stock's writes: replays, conflicts, scope, expiry, bad keys."""

from datetime import timedelta

import pytest
from django.utils import timezone

from core.api.models import IdempotencyKey
from stock import services as stock_services
from stock.models import StockMovement
from stock.tests.api_support import _quantity, adjust_url, count_url

pytestmark = pytest.mark.django_db


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
