"""Placing an order through the API: priced by the server, all of it or nothing, its lines
checked one by one, in the caller's name, in a fixed number of queries."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from catalog.services import product_update
from events.models import Event
from orders.models import Order, OrderLine
from orders.services import MAX_LINES
from orders.tests.api.support import ORDERS, _place, _quantity, _variant, order_url
from stock.models import StockMovement

pytestmark = pytest.mark.django_db


def test_place_an_order_priced_by_the_server(shop, tee):
    small, large = _variant(tee, "S-M"), _variant(tee, "L-XL")
    response = _place(
        shop,
        {"variant": small.pk, "quantity": 2},
        {"sku": large.sku.lower(), "quantity": 1},
        customer_reference="CUST-17",
        note="gift wrap",
    )
    assert response.status_code == 201, response.json()
    order = Order.objects.get()
    lines = list(order.lines.order_by("id"))
    body = response.json()
    assert body == {
        "id": order.pk,
        "number": order.number,
        "status": "placed",
        "location": "MAIN",
        "lines": [
            {
                "id": lines[0].pk,
                "variant": small.pk,
                "sku": small.sku,
                "product_name": "Tee",
                "size": "S-M",
                "quantity": 2,
                "unit_price": "29.90",
                "line_total": "59.80",
                "returned_quantity": 0,
            },
            {
                "id": lines[1].pk,
                "variant": large.pk,
                "sku": large.sku,
                "product_name": "Tee",
                "size": "L-XL",
                "quantity": 1,
                "unit_price": "29.90",
                "line_total": "29.90",
                "returned_quantity": 0,
            },
        ],
        "total": "89.70",
        "currency": "EUR",
        "customer_reference": "CUST-17",
        "note": "gift wrap",
        "created_at": body["created_at"],
        "paid_at": None,
        "fulfilled_at": None,
        "cancelled_at": None,
    }
    assert order.number.startswith("SO-")
    assert len(order.number) == 13
    assert order.location.code == "MAIN"
    # Placed, not picked: the units are committed at the default location, still on the shelf.
    assert (_quantity(small), _quantity(large)) == (3, 1)
    assert (small.committed, large.committed) == (2, 1)
    placed = StockMovement.objects.exclude(reason="initial").order_by("variant_id")
    assert [
        (
            m.variant_id,
            m.reason,
            m.delta,
            m.quantity_after,
            m.committed_delta,
            m.committed_after,
            m.location.code,
            m.reference,
            m.actor_kind,
        )
        for m in placed
    ] == [
        (small.pk, "order_placed", 0, 5, 2, 2, "MAIN", order.number, "api_key"),
        (large.pk, "order_placed", 0, 2, 1, 1, "MAIN", order.number, "api_key"),
    ]


def test_later_price_changes_never_alter_an_order(shop, tee):
    small = _variant(tee, "S-M")
    order_id = _place(shop, {"variant": small.pk, "quantity": 1}).json()["id"]
    product_update(product=tee, data={"price": Decimal("99.00")})
    body = shop.get(order_url(order_id)).json()
    assert (body["lines"][0]["unit_price"], body["total"]) == ("29.90", "29.90")


def test_an_order_that_cannot_be_filled_takes_nothing(shop, tee, make_product):
    small, large = _variant(tee, "S-M"), _variant(tee, "L-XL")
    other = _variant(make_product(name="Other", stock={"S-M": 9}), "S-M")
    response = _place(
        shop,
        {"variant": other.pk, "quantity": 1},
        {"variant": small.pk, "quantity": 6},
        {"variant": large.pk, "quantity": 3},
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "insufficient_stock"
    assert response.json()["error"]["details"]["location"] == "MAIN"
    assert sorted(
        response.json()["error"]["details"]["lines"], key=lambda line: line["variant"]
    ) == [
        {"variant": small.pk, "sku": small.sku, "location": "MAIN", "requested": 6, "available": 5},
        {"variant": large.pk, "sku": large.sku, "location": "MAIN", "requested": 3, "available": 2},
    ]
    assert (_quantity(small), _quantity(large), _quantity(other)) == (5, 2, 9)
    assert [v.committed for v in (small, large, other)] == [0, 0, 0]
    assert not Order.objects.exists()
    assert not OrderLine.objects.exists()
    assert not StockMovement.objects.exclude(reason="initial").exists()


def test_bad_lines_are_field_errors(shop, tee, make_product):
    small = _variant(tee, "S-M")
    archived = _variant(make_product(name="Old", stock={"S-M": 3}, is_active=False), "S-M")
    response = _place(
        shop,
        {"variant": small.pk, "quantity": 1},
        {"variant": 999999, "quantity": 1},
        {"sku": "NO-SUCH-SKU", "quantity": 1},
        {"variant": archived.pk, "quantity": 1},
        {"sku": small.sku, "quantity": 1},
    )
    assert response.status_code == 400
    assert response.json()["error"]["details"] == {
        "lines": [
            {},
            {"variant": ["No such variant."]},
            {"sku": ["No such variant."]},
            {"variant": ["This product is archived and not for sale."]},
            {"variant": ["This variant is in the order more than once."]},
        ]
    }
    assert _quantity(small) == 5
    assert not Order.objects.exists()


@pytest.mark.parametrize(
    ("body", "details"),
    [
        ({"lines": []}, {"lines": {"non_field_errors": ["This list may not be empty."]}}),
        ({}, {"lines": ["This field is required."]}),
        (
            {"lines": [{"variant": 1, "quantity": 0}]},
            {"lines": [{"quantity": ["Ensure this value is greater than or equal to 1."]}]},
        ),
        (
            {"lines": [{"variant": 1, "quantity": -2}]},
            {"lines": [{"quantity": ["Ensure this value is greater than or equal to 1."]}]},
        ),
        (
            {"lines": [{"quantity": 1}]},
            {"lines": [{"variant": ["Give the variant's id or its sku (one of the two)."]}]},
        ),
        (
            {"lines": [{"variant": 1, "sku": "X", "quantity": 1}]},
            {"lines": [{"variant": ["Give the variant's id or its sku (one of the two)."]}]},
        ),
    ],
)
def test_malformed_orders_are_refused(shop, tee, body, details):
    response = shop.post(ORDERS, body, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["details"] == details
    assert not Order.objects.exists()


def test_an_order_has_at_most_fifty_lines(shop, tee):
    lines = [{"variant": _variant(tee, "S-M").pk, "quantity": 1}] * (MAX_LINES + 1)
    response = shop.post(ORDERS, {"lines": lines}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["details"] == {
        "lines": {"non_field_errors": [f"Ensure this field has no more than {MAX_LINES} elements."]}
    }


def test_an_order_whose_total_does_not_fit_is_refused(shop, make_product):
    dear = make_product(name="Couture", price="99999999.99", stock={"S-M": 200})
    response = _place(shop, {"variant": _variant(dear, "S-M").pk, "quantity": 101})
    assert response.status_code == 400
    assert "exceeds 9999999999.99" in response.json()["error"]["details"]["lines"][0]
    assert not Order.objects.exists()
    assert _quantity(_variant(dear, "S-M")) == 200


def test_staff_place_orders_in_their_own_name(manager_client, manager, tee):
    response = _place(manager_client, {"variant": _variant(tee, "S-M").pk, "quantity": 1})
    assert response.status_code == 201
    order = Order.objects.get()
    assert (order.user, order.api_key, order.placed_by) == (manager, None, "manager")


def test_placing_an_order_costs_the_same_queries_for_any_number_of_lines(shop, make_product):
    products = [make_product(name=f"Tee {n}", stock={"S-M": 5}) for n in range(10)]
    variants = [_variant(p, "S-M") for p in products]

    def count(lines):
        # Earlier events sent out, as the worker leaves them: none pending to coalesce into.
        Event.objects.update(dispatched_at=timezone.now())
        with CaptureQueriesContext(connection) as queries:
            assert _place(shop, *lines).status_code == 201
        return len(queries)

    one = count([{"variant": variants[0].pk, "quantity": 1}])
    ten = count([{"variant": v.pk, "quantity": 1} for v in variants])
    # Key; the location (the default, and those the key is bound to: none), read and
    # key-share locked at once; variants, found and locked at once; order; lines; the levels
    # there, read under the variants' locks; one UPDATE of levels and one of variants, one
    # INSERT of movements; the levels' events: the pending ones of their keys (none here),
    # the INSERT of the new ones and their task's; the order.placed event and its task (two
    # INSERTs); the placement's savepoint here (SAVEPOINT, RELEASE), where the test's
    # transaction encloses it. The answer is rendered from the rows written, not read back.
    assert one == ten == 16


def test_the_answer_to_placing_an_order_is_the_order_as_read_back(shop, make_product):
    products = [make_product(name=f"Tee {n}", stock={"S-M": 5, "L-XL": 3}) for n in range(3)]
    lines = [
        {"variant": _variant(product, size).pk, "quantity": quantity}
        for product, size, quantity in [
            (products[2], "L-XL", 2),
            (products[0], "S-M", 1),
            (products[1], "L-XL", 3),
        ]
    ]
    placed = _place(shop, *lines)
    assert placed.status_code == 201
    read_back = shop.get(f"{ORDERS}{placed.json()['id']}/")
    assert placed.json() == read_back.json()
    assert [line["quantity"] for line in placed.json()["lines"]] == [2, 1, 3]


def test_an_order_number_already_taken_is_drawn_again(shop, tee, monkeypatch):
    from orders import services

    first = Order.objects.get(
        pk=_place(shop, {"variant": _variant(tee, "S-M").pk, "quantity": 1}).json()["id"]
    )
    # The next draw repeats the first order's number, then draws a fresh one.
    draws = iter([*first.number[3:], *"0000000007"])
    monkeypatch.setattr(services.secrets, "choice", lambda alphabet: next(draws))

    placed = _place(shop, {"variant": _variant(tee, "S-M").pk, "quantity": 1})

    assert placed.status_code == 201, placed.json()
    assert placed.json()["number"] == "SO-0000000007"
    assert Order.objects.filter(number=first.number).count() == 1
    assert Order.objects.count() == 2
