"""The ledger shows every client the stock's moves, but not who else made them."""

import pytest
from rest_framework.test import APIClient

from core.api.authentication import api_key_actor
from core.api.services import api_key_create
from orders.services import LineRequest, order_place

pytestmark = pytest.mark.django_db

LEDGER = "/api/v1/stock-movements/"


def _client(raw_key):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw_key}")
    return client


def test_another_clients_sale_shows_without_its_name_order_or_note(make_product, manager_client):
    variant = make_product(stock={"S-M": 5}).variants.get()
    shop, shop_raw = api_key_create(name="web-shop", scopes=["orders:write", "stock:write"])
    _, till_raw = api_key_create(name="till-2", scopes=["stock:write"])
    order = order_place(
        lines=[LineRequest(variant_id=variant.pk, quantity=2)], actor=api_key_actor(shop)
    )
    till = _client(till_raw)
    till.post(
        f"/api/v1/variants/{variant.pk}/adjust/",
        {"delta": 1, "reason": "received", "note": "box 7", "reference": "DN-1"},
        format="json",
    )

    def rows(client):
        return [
            (m["reason"], m["actor"], m["reference"], m["note"])
            for m in client.get(LEDGER).json()["results"]
        ]

    assert rows(till) == [
        ("received", "till-2", "DN-1", "box 7"),
        ("order_placed", "another client", "", ""),
        ("initial", "test", "", ""),
    ]
    assert rows(_client(shop_raw))[:2] == [
        ("received", "another client", "", ""),
        ("order_placed", "web-shop", order.number, ""),
    ]
    # Staff see everything.
    assert rows(manager_client)[:2] == [
        ("received", "till-2", "DN-1", "box 7"),
        ("order_placed", "web-shop", order.number, ""),
    ]
    # The per-variant history hides the same.
    history = till.get(f"/api/v1/variants/{variant.pk}/movements/").json()["results"]
    assert history[1]["actor"] == "another client"
