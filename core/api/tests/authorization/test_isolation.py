"""Clients never reach each other's orders: lists hold the caller's orders and no other,
another client's order is answered as if it did not exist, idempotency keys and return
lines stay with their own client and order, and a revoked key stops at once."""

import pytest
from rest_framework.test import APIClient

from core.api.services import api_key_revoke
from core.api.tests.authorization.access import (
    MANAGER,
    ORDER_VIEWER,
    ORDERS_KEY,
    OTHER_ORDERS_KEY,
    STORE_STAFF,
    SUPERUSER,
)
from core.api.tests.authorization.endpoints import ORD
from core.api.tests.authorization.support import World, database_state, make_caller
from orders.models import Order

pytestmark = pytest.mark.django_db


def _all_order_ids(client: APIClient, query: dict[str, str]) -> list[int]:
    """Every order of the list, following the cursor one order per page."""
    ids: list[int] = []
    response = client.get(ORD, {**query, "page_size": "1"})
    while True:
        assert response.status_code == 200, response.json()
        ids.extend(order["id"] for order in response.json()["results"])
        if not response.json()["next"]:
            return ids
        response = client.get(response.json()["next"])


def _visible(caller: str, world: World) -> list[int]:
    if caller == ORDERS_KEY:
        return [world.fulfilled.pk, world.paid.pk, world.placed.pk]
    if caller == OTHER_ORDERS_KEY:
        return [world.others_order.pk]
    return [*_visible(OTHER_ORDERS_KEY, world), *_visible(ORDERS_KEY, world), world.staff_order.pk]


LISTERS = [ORDERS_KEY, OTHER_ORDERS_KEY, STORE_STAFF, MANAGER, ORDER_VIEWER, SUPERUSER]


@pytest.mark.parametrize("caller", LISTERS)
@pytest.mark.parametrize(
    "query",
    [
        {},
        {"status": "placed"},
        {"status": "fulfilled"},
        {"customer_reference": "web-1"},
        {"customer_reference": "other-1"},
        {"customer_reference": "till-1"},
    ],
    ids=lambda query: "&".join(f"{k}={v}" for k, v in query.items()) or "all",
)
def test_an_order_list_holds_the_caller_s_orders_and_no_other(world, caller, query):
    client = make_caller(caller, world)
    visible = _visible(caller, world)
    expected = list(
        Order.objects.filter(pk__in=visible, **query).order_by("-pk").values_list("pk", flat=True)
    )

    assert _all_order_ids(client, query) == expected
    assert set(expected) <= set(visible)


@pytest.mark.parametrize("caller", LISTERS)
@pytest.mark.parametrize("parameter", ["api_key", "user", "placed_by", "owner"])
def test_an_order_list_cannot_be_asked_for_someone_else_s_orders(world, caller, parameter):
    """Parameters that would name an owner are refused, never quietly honoured."""
    client = make_caller(caller, world)
    owner = {"api_key": world.other.pk, "user": 1, "placed_by": "other-shop", "owner": "x"}

    response = client.get(ORD, {parameter: owner[parameter]})

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"


def test_another_client_s_order_is_answered_as_if_it_did_not_exist(world):
    """404 with the very body of a missing order: nothing tells an order of another client
    from no order at all."""
    client = make_caller(OTHER_ORDERS_KEY, world)
    missing = Order.objects.order_by("-pk").first().pk + 1000
    before = database_state()
    for action, body in [
        ("", None),
        ("pay/", None),
        ("fulfil/", None),
        ("cancel/", None),
        ("returns/", {"lines": [{"line": world.fulfilled.lines.get().pk, "quantity": 1}]}),
    ]:
        method = client.get if not action else client.post
        for order in (world.placed, world.paid, world.fulfilled, world.staff_order):
            theirs = method(f"{ORD}{order.pk}/{action}", body, format="json")
            nobody_s = method(f"{ORD}{missing}/{action}", body, format="json")
            assert (theirs.status_code, theirs.json()) == (404, nobody_s.json()), (action, order)
    assert database_state() == before


def test_an_idempotency_key_is_never_replayed_to_another_client(world):
    """Two clients that happen to pick the same Idempotency-Key each get their own order."""
    body = {"lines": [{"variant": world.small.pk, "quantity": 1}]}
    first = make_caller(ORDERS_KEY, world).post(
        ORD, body, format="json", HTTP_IDEMPOTENCY_KEY="checkout-1"
    )
    second = make_caller(OTHER_ORDERS_KEY, world).post(
        ORD, body, format="json", HTTP_IDEMPOTENCY_KEY="checkout-1"
    )

    assert (first.status_code, second.status_code) == (201, 201)
    assert "Idempotent-Replayed" not in second
    assert first.json()["id"] != second.json()["id"]
    assert Order.objects.get(pk=second.json()["id"]).api_key == world.other


def test_a_return_cannot_name_another_order_s_line(world):
    """The line ids of a return are looked up in that order only, not among every line."""
    client = make_caller(ORDERS_KEY, world)
    others_line = world.others_order.lines.get()
    before = database_state()

    response = client.post(
        f"{ORD}{world.fulfilled.pk}/returns/",
        {"lines": [{"line": others_line.pk, "quantity": 1}]},
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"
    assert response.json()["error"]["details"] == {
        "lines": [{"line": ["This order has no such line."]}]
    }
    assert database_state() == before


def test_a_key_works_until_revoked_and_not_a_request_longer(world):
    client = make_caller(ORDERS_KEY, world)
    assert client.get(ORD).status_code == 200

    api_key_revoke(api_key=world.owner)

    response = client.get(ORD)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"
