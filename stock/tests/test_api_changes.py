"""Changing a variant's stock over the API: adjust and count, who may, what is refused."""

import pytest
from rest_framework.test import APIClient

from core.api.services import api_key_create
from stock.models import StockMovement
from stock.tests.api_support import _quantity, adjust_url, count_url

pytestmark = pytest.mark.django_db


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
        "location": "MAIN",
        "delta": 12,
        "quantity_after": 17,
        "on_hand_delta": 12,
        "on_hand_after": 17,
        "committed_delta": 0,
        "committed_after": 0,
        "incoming_delta": 0,
        "incoming_after": 0,
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
            "message": "Not enough stock at MAIN; nothing was changed.",
            "details": {
                "location": "MAIN",
                "lines": [
                    {
                        "variant": variant.pk,
                        "sku": variant.sku,
                        "location": "MAIN",
                        "requested": 6,
                        "available": 5,
                    }
                ],
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
    assert response.json()["error"]["details"] == {
        "location": "MAIN",
        "expected_quantity": 4,
        "quantity": 5,
    }
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
