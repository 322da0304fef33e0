"""Orders at a location over the API: placed where a client says (the default one otherwise),
committed there, or sold and handed over at once at a till; fulfilled, cancelled and returned
there (or returned elsewhere); listed by location."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from conftest import TEST_ACTOR
from events.models import Event
from orders.models import Order, OrderStatus
from orders.tests.api.support import ORDERS, _place, _variant, order_url
from stock.locations import location_create
from stock.models import StockLevel, StockMovement
from stock.services import stock_adjust

pytestmark = pytest.mark.django_db


@pytest.fixture
def store(tee):
    """A shop holding 3 of the tee's S-M (MAIN holds 5 S-M and 2 L-XL)."""
    store = location_create(code="STORE-01", name="Shop", kind="store")
    stock_adjust(
        variant_id=_variant(tee, "S-M").pk,
        delta=3,
        reason="received",
        actor=TEST_ACTOR,
        location=store,
    )
    return store


def _levels(variant):
    return {
        code: (on_hand, committed)
        for code, on_hand, committed in StockLevel.objects.filter(variant=variant).values_list(
            "location__code", "on_hand", "committed"
        )
    }


def _movements(order):
    return list(
        StockMovement.objects.filter(reference=order.number)
        .order_by("id")
        .values_list("location__code", "reason", "delta", "committed_delta")
    )


def test_place_an_order_at_a_location_named_in_any_case(shop, tee, store):
    small = _variant(tee, "S-M")
    response = _place(shop, {"variant": small.pk, "quantity": 2}, location="store-01")
    assert response.status_code == 201, response.json()
    order = Order.objects.get()
    line = order.lines.get()
    body = response.json()
    assert body == {
        "id": order.pk,
        "number": order.number,
        "status": "placed",
        "location": "STORE-01",
        "lines": [
            {
                "id": line.pk,
                "variant": small.pk,
                "sku": small.sku,
                "product_name": "Tee",
                "size": "S-M",
                "quantity": 2,
                "unit_price": "29.90",
                "line_total": "59.80",
                "returned_quantity": 0,
            }
        ],
        "total": "59.80",
        "currency": "EUR",
        "customer_reference": "",
        "note": "",
        "created_at": body["created_at"],
        "paid_at": None,
        "fulfilled_at": None,
        "cancelled_at": None,
    }
    assert shop.get(order_url(order.pk)).json() == body
    # Committed at the shop: still on its shelf, no longer for sale there.
    assert _levels(small) == {"MAIN": (5, 0), "STORE-01": (3, 2)}
    assert _movements(order) == [("STORE-01", "order_placed", 0, 2)]


def test_an_order_that_names_no_location_is_placed_at_the_default(shop, tee, store):
    response = _place(shop, {"variant": _variant(tee, "S-M").pk, "quantity": 1})
    assert response.json()["location"] == "MAIN"
    assert Order.objects.get().location.code == "MAIN"


@pytest.mark.parametrize(
    ("location", "message"),
    [
        ("nowhere", "No location with code 'NOWHERE'."),
        ("old", "OLD is archived and holds no stock."),
        ("st ore", "A location's code is up to 16 letters, digits and inner hyphens, e.g. "
                   "STORE-01."),
    ],
)  # fmt: skip
def test_an_unknown_or_archived_location_is_refused_by_name(shop, tee, location, message):
    location_create(code="OLD", name="Closed shop", kind="store", is_active=False)
    response = _place(shop, {"variant": _variant(tee, "S-M").pk, "quantity": 1}, location=location)
    assert response.status_code == 400
    assert response.json()["error"]["details"] == {"location": [message]}
    assert not Order.objects.exists()


def test_what_is_available_there_must_cover_every_line_whatever_other_locations_hold(
    shop, tee, store
):
    small, large = _variant(tee, "S-M"), _variant(tee, "L-XL")
    response = _place(
        shop,
        {"variant": small.pk, "quantity": 4},
        {"variant": large.pk, "quantity": 1},
        location="STORE-01",
    )
    assert response.status_code == 409
    assert response.json()["error"] == {
        "code": "insufficient_stock",
        "message": "Not enough stock at STORE-01; nothing was changed.",
        "details": {
            "location": "STORE-01",
            "lines": [
                {
                    "variant": small.pk,
                    "sku": small.sku,
                    "location": "STORE-01",
                    "requested": 4,
                    "available": 3,
                },
                {
                    "variant": large.pk,
                    "sku": large.sku,
                    "location": "STORE-01",
                    "requested": 1,
                    "available": 0,
                },
            ],
        },
    }
    assert not Order.objects.exists()
    assert _levels(small) == {"MAIN": (5, 0), "STORE-01": (3, 0)}


def test_a_till_sale_is_placed_paid_and_handed_over_in_one_request(shop, tee, store):
    small = _variant(tee, "S-M")
    response = _place(shop, {"variant": small.pk, "quantity": 2}, location="STORE-01", fulfil=True)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["status"], body["location"]) == ("fulfilled", "STORE-01")
    assert body["paid_at"] == body["fulfilled_at"] is not None
    order = Order.objects.get()
    assert order.status == OrderStatus.FULFILLED
    # Taken off the shelf, never committed.
    assert _levels(small) == {"MAIN": (5, 0), "STORE-01": (1, 0)}
    assert _movements(order) == [("STORE-01", "sale", -2, 0)]
    # Handed over: it can be returned at once, not fulfilled again.
    assert shop.post(order_url(order.pk, "fulfil")).status_code == 409


def test_fulfil_is_true_or_false(shop, tee):
    response = _place(shop, {"variant": _variant(tee, "S-M").pk, "quantity": 1}, fulfil="yes")
    assert response.status_code == 400
    assert response.json()["error"]["details"] == {
        "fulfil": ["Expected true or false; got a string."]
    }


def test_fulfilment_and_cancellation_happen_at_the_order_s_location(shop, tee, store):
    small = _variant(tee, "S-M")
    fulfilled = _place(shop, {"variant": small.pk, "quantity": 2}, location="STORE-01").json()
    cancelled = _place(shop, {"variant": small.pk, "quantity": 1}, location="STORE-01").json()
    for step in ("pay", "fulfil"):
        assert shop.post(order_url(fulfilled["id"], step)).status_code == 200
    assert shop.post(order_url(cancelled["id"], "cancel")).status_code == 200
    assert _levels(small) == {"MAIN": (5, 0), "STORE-01": (1, 0)}
    assert _movements(Order.objects.get(pk=fulfilled["id"])) == [
        ("STORE-01", "order_placed", 0, 2),
        ("STORE-01", "sale", -2, -2),
    ]
    assert _movements(Order.objects.get(pk=cancelled["id"])) == [
        ("STORE-01", "order_placed", 0, 1),
        ("STORE-01", "order_cancelled", 0, -1),
    ]


def test_a_return_comes_back_to_the_order_s_location_or_the_one_named(shop, tee, store):
    small = _variant(tee, "S-M")
    order_id = _place(shop, {"variant": small.pk, "quantity": 3}, fulfil=True).json()["id"]
    line = Order.objects.get(pk=order_id).lines.get()
    here = shop.post(order_url(order_id, "returns"), {"lines": [{"line": line.pk, "quantity": 1}]})
    assert here.status_code == 201, here.json()
    there = shop.post(
        order_url(order_id, "returns"),
        {"lines": [{"line": line.pk, "quantity": 1}], "location": "store-01"},
    )
    assert there.status_code == 201, there.json()
    assert _levels(small) == {"MAIN": (3, 0), "STORE-01": (4, 0)}
    assert _movements(Order.objects.get(pk=order_id))[1:] == [
        ("MAIN", "returned", 1, 0),
        ("STORE-01", "returned", 1, 0),
    ]
    nowhere = shop.post(
        order_url(order_id, "returns"),
        {"lines": [{"line": line.pk, "quantity": 1}], "location": "NOWHERE"},
    )
    assert nowhere.status_code == 400
    assert nowhere.json()["error"]["details"] == {"location": ["No location with code 'NOWHERE'."]}
    assert Order.objects.get(pk=order_id).lines.get().returned_quantity == 2


def test_orders_by_location(shop, tee, store, django_assert_num_queries):
    small = _variant(tee, "S-M")
    at_store = _place(shop, {"variant": small.pk, "quantity": 1}, location="STORE-01").json()
    at_main = _place(shop, {"variant": small.pk, "quantity": 1}).json()

    def ids(**params):
        return [order["id"] for order in shop.get(ORDERS, params).json()["results"]]

    assert ids(location="store-01") == [at_store["id"]]
    assert ids(location="MAIN") == [at_main["id"]]
    assert ids(location="WEB") == []
    assert ids() == [at_main["id"], at_store["id"]]
    with django_assert_num_queries(3):  # the key, a page of orders with their locations, lines
        assert [o["location"] for o in shop.get(ORDERS).json()["results"]] == ["MAIN", "STORE-01"]


def test_placing_at_a_named_location_costs_one_query_more_than_at_the_default(shop, tee, store):
    small = _variant(tee, "S-M")

    def count(**fields):
        # Earlier events sent out: at both places the level's event is a new one.
        Event.objects.update(dispatched_at=timezone.now())
        with CaptureQueriesContext(connection) as queries:
            assert _place(shop, {"variant": small.pk, "quantity": 1}, **fields).status_code == 201
        return len(queries)

    # The one query more finds the location by its code (an unknown code is a 400 on the
    # field); the service then reads and locks it as it reads and locks the default.
    assert count(location="STORE-01") == count() + 1


def test_another_location_under_the_same_idempotency_key_is_another_request(shop, tee, store):
    body = {"lines": [{"variant": _variant(tee, "S-M").pk, "quantity": 1}], "location": "STORE-01"}
    first = shop.post(ORDERS, body, format="json", HTTP_IDEMPOTENCY_KEY="till-7")
    again = shop.post(ORDERS, body, format="json", HTTP_IDEMPOTENCY_KEY="till-7")
    elsewhere = shop.post(
        ORDERS, {**body, "location": "MAIN"}, format="json", HTTP_IDEMPOTENCY_KEY="till-7"
    )
    assert (first.status_code, again.status_code, elsewhere.status_code) == (201, 201, 422)
    assert again.content == first.content
    assert Order.objects.count() == 1
