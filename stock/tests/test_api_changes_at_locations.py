"""Stock changes at a location over the API: adjust and count name one (or happen at the
default), refuse an unknown or archived one by name, and the ledger shows where, on hand and
committed."""

import pytest
from django.utils import timezone

from core.api.authentication import api_key_actor
from events.models import Event
from orders.services import LineRequest, order_place
from stock.locations import location_create, location_update
from stock.models import Location, StockLevel, StockMovement
from stock.tests.api_support import MOVEMENTS, _quantity, adjust_url, count_url

pytestmark = pytest.mark.django_db


@pytest.fixture
def store(db):
    return location_create(code="STORE-01", name="Shop", kind="store")


def _levels(variant):
    return dict(StockLevel.objects.filter(variant=variant).values_list("location__code", "on_hand"))


def _invalid(response, details):
    assert response.status_code == 400, response.json()
    assert response.json()["error"] == {
        "code": "validation_error",
        "message": "The request is not valid; see details for the fields at fault.",
        "details": details,
    }


def test_adjust_at_a_location_named_in_any_case(stock_client, variant, store):
    response = stock_client.post(
        adjust_url(variant),
        {"delta": 4, "reason": "received", "location": "store-01", "reference": "DN-1"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    movement = StockMovement.objects.get(reason="received")
    body = response.json()
    assert body["movement"] == {
        "id": movement.pk,
        "variant": variant.pk,
        "sku": variant.sku,
        "location": "STORE-01",
        "delta": 4,
        "quantity_after": 4,
        "on_hand_delta": 4,
        "on_hand_after": 4,
        "committed_delta": 0,
        "committed_after": 0,
        "incoming_delta": 0,
        "incoming_after": 0,
        "reason": "received",
        "actor": movement.actor,
        "note": "",
        "reference": "DN-1",
        "created_at": body["movement"]["created_at"],
    }
    # The variant's quantity is what is available everywhere: 5 at MAIN, 4 at the shop.
    assert body["variant"]["quantity"] == 9
    assert _levels(variant) == {"MAIN": 5, "STORE-01": 4}


def test_a_change_that_names_no_location_happens_at_the_default(stock_client, variant, store):
    response = stock_client.post(
        adjust_url(variant), {"delta": -2, "reason": "damaged"}, format="json"
    )
    assert response.status_code == 201, response.json()
    assert response.json()["movement"]["location"] == "MAIN"
    assert _levels(variant) == {"MAIN": 3}
    location_update(location=store, data={"is_default": True})
    response = stock_client.post(adjust_url(variant), {"delta": 1, "reason": "received"})
    assert response.json()["movement"]["location"] == "STORE-01"
    assert _levels(variant) == {"MAIN": 3, "STORE-01": 1}


@pytest.mark.parametrize("action", ["adjust", "count"])
@pytest.mark.parametrize(
    ("location", "message"),
    [
        ("nowhere", "No location with code 'NOWHERE'."),
        ("old-shop", "OLD-SHOP is archived and holds no stock."),
        ("store 1", "A location's code is up to 16 letters, digits and inner hyphens, e.g. "
                    "STORE-01."),
        ("", "This field may not be blank."),
    ],
)  # fmt: skip
def test_an_unknown_or_archived_location_is_refused_by_name(
    stock_client, variant, action, location, message
):
    location_create(code="OLD-SHOP", name="Old shop", kind="store", is_active=False)
    url, body = (
        (adjust_url(variant), {"delta": 1, "reason": "received"})
        if action == "adjust"
        else (count_url(variant), {"quantity": 1})
    )
    _invalid(
        stock_client.post(url, {**body, "location": location}, format="json"),
        {"location": [message]},
    )
    assert StockMovement.objects.count() == 1
    assert _quantity(variant) == 5


def test_a_decrease_takes_only_what_is_available_there(stock_client, variant, store):
    response = stock_client.post(
        adjust_url(variant), {"delta": -1, "reason": "lost", "location": "STORE-01"}
    )
    assert response.status_code == 409
    assert response.json()["error"] == {
        "code": "insufficient_stock",
        "message": "Not enough stock at STORE-01; nothing was changed.",
        "details": {
            "location": "STORE-01",
            "lines": [
                {
                    "variant": variant.pk,
                    "sku": variant.sku,
                    "location": "STORE-01",
                    "requested": 1,
                    "available": 0,
                }
            ],
        },
    }
    assert _levels(variant) == {"MAIN": 5}


def test_count_at_a_location_sets_what_is_on_hand_there(stock_client, variant, store):
    stock_client.post(
        adjust_url(variant), {"delta": 6, "reason": "received", "location": "STORE-01"}
    )
    response = stock_client.post(
        count_url(variant), {"quantity": 4, "expected_quantity": 6, "location": "store-01"}
    )
    assert response.status_code == 201, response.json()
    movement = response.json()["movement"]
    assert (movement["location"], movement["on_hand_delta"], movement["on_hand_after"]) == (
        "STORE-01",
        -2,
        4,
    )
    assert _levels(variant) == {"MAIN": 5, "STORE-01": 4}
    # The expected quantity is the one at that location, not the variant's total.
    mismatch = stock_client.post(
        count_url(variant), {"quantity": 1, "expected_quantity": 9, "location": "STORE-01"}
    )
    assert mismatch.status_code == 409
    assert mismatch.json()["error"]["details"] == {
        "location": "STORE-01",
        "expected_quantity": 9,
        "quantity": 4,
    }


def test_a_count_below_the_units_committed_there_is_refused(stock_client, variant, shop_key):
    order_place(
        lines=[LineRequest(variant_id=variant.pk, quantity=3)], actor=api_key_actor(shop_key)
    )
    response = stock_client.post(count_url(variant), {"quantity": 2, "location": "main"})
    assert response.status_code == 409
    assert response.json()["error"]["details"] == {
        "location": "MAIN",
        "lines": [
            {
                "variant": variant.pk,
                "sku": variant.sku,
                "location": "MAIN",
                "requested": 3,
                "available": 2,
            }
        ],
    }
    # Committed units are on the shelf: a count of all five leaves the order's three committed.
    response = stock_client.post(count_url(variant), {"quantity": 5})
    movement = response.json()["movement"]
    assert (movement["on_hand_delta"], movement["committed_after"]) == (0, 3)


def test_naming_a_location_costs_one_query_to_find_it_and_no_more(
    stock_client, variant, store, django_assert_num_queries
):
    body = {"delta": 1, "reason": "received"}
    # The service reads and key-share locks its location (the default one, or the one named)
    # in one query either way; a named one is found by its code first, to answer an unknown
    # code with a 400 on the field. However many locations there are.
    Location.objects.bulk_create(
        Location(code=f"SHOP-{n}", name=f"Shop {n}", kind="store") for n in range(20)
    )
    # The level's event: the pending one of its key, the INSERT, its task's.
    for named, queries in (({}, 14), ({"location": "STORE-01"}, 15)):
        Event.objects.update(dispatched_at=timezone.now())  # none pending to coalesce into
        with django_assert_num_queries(queries):
            assert stock_client.post(adjust_url(variant), {**body, **named}).status_code == 201


# The ledger


def test_the_ledger_shows_where_and_both_quantities(stock_client, variant, store, shop_key):
    stock_client.post(
        adjust_url(variant), {"delta": 2, "reason": "received", "location": "STORE-01"}
    )
    order = order_place(
        lines=[LineRequest(variant_id=variant.pk, quantity=2)], actor=api_key_actor(shop_key)
    )
    rows = stock_client.get(MOVEMENTS).json()["results"]
    assert [
        (
            row["location"],
            row["reason"],
            row["on_hand_delta"],
            row["on_hand_after"],
            row["committed_delta"],
            row["committed_after"],
            row["delta"],
            row["quantity_after"],
        )
        for row in rows
    ] == [
        ("MAIN", "order_placed", 0, 5, 2, 2, 0, 5),
        ("STORE-01", "received", 2, 2, 0, 0, 2, 2),
        ("MAIN", "initial", 5, 5, 0, 0, 5, 5),
    ]
    assert rows[0]["reference"] == ""  # another client's order number stays with it
    assert order.location.code == "MAIN"


@pytest.mark.parametrize(
    ("location", "reasons"),
    [("store-01", ["received"]), ("MAIN", ["count_correction", "initial"]), ("WEB", [])],
)
def test_the_ledger_by_location(stock_client, variant, store, location, reasons):
    stock_client.post(
        adjust_url(variant), {"delta": 2, "reason": "received", "location": "STORE-01"}
    )
    stock_client.post(count_url(variant), {"quantity": 4})
    rows = stock_client.get(MOVEMENTS, {"location": location}).json()["results"]
    assert [row["reason"] for row in rows] == reasons


def test_a_variant_s_own_movements_show_where(stock_client, variant, store):
    stock_client.post(
        adjust_url(variant), {"delta": 2, "reason": "received", "location": "STORE-01"}
    )
    rows = stock_client.get(f"/api/v1/variants/{variant.pk}/movements/").json()["results"]
    assert [(row["location"], row["on_hand_after"]) for row in rows] == [
        ("STORE-01", 2),
        ("MAIN", 5),
    ]


def test_the_ledger_costs_the_same_queries_across_locations(
    stock_client, variant, django_assert_num_queries
):
    for n in range(3):
        location_create(code=f"SHOP-{n}", name=f"Shop {n}", kind="store")
        stock_client.post(
            adjust_url(variant), {"delta": 1, "reason": "received", "location": f"SHOP-{n}"}
        )
    with django_assert_num_queries(2):  # the key, the page with its variants and locations
        assert len(stock_client.get(MOVEMENTS).json()["results"]) == 4


# Idempotency


def test_a_replay_names_the_same_location_another_location_is_another_request(
    stock_client, variant, store
):
    body = {"delta": 2, "reason": "received", "location": "STORE-01"}
    first = stock_client.post(adjust_url(variant), body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    again = stock_client.post(adjust_url(variant), body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.content == first.content
    assert again["Idempotent-Replayed"] == "true"
    elsewhere = stock_client.post(
        adjust_url(variant), {**body, "location": "MAIN"}, format="json", HTTP_IDEMPOTENCY_KEY="k-1"
    )
    assert elsewhere.status_code == 422
    assert elsewhere.json()["error"]["code"] == "idempotency_key_reused"
    assert _levels(variant) == {"MAIN": 5, "STORE-01": 2}
