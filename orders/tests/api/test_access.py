"""Who sees and moves which orders through the API: a client only its own, staff all of them
with the permission of each action, nobody without the orders scope or a login."""

import pytest
from rest_framework.test import APIClient

from orders.models import Order, OrderReturn
from orders.tests.api.support import ORDERS, _place, _variant, order_url

pytestmark = pytest.mark.django_db


def test_a_client_sees_only_its_own_orders(key_client, tee, manager_client):
    first, second = key_client("orders:write"), key_client("orders:write")
    mine = _place(first, {"variant": _variant(tee, "S-M").pk, "quantity": 1}).json()["id"]
    theirs = _place(second, {"variant": _variant(tee, "L-XL").pk, "quantity": 1}).json()["id"]

    assert [o["id"] for o in first.get(ORDERS).json()["results"]] == [mine]
    assert first.get(order_url(theirs)).status_code == 404
    for action in ("pay", "cancel"):
        assert first.post(order_url(theirs, action)).status_code == 404
    assert Order.objects.get(pk=theirs).status == "placed"
    # Staff see all.
    assert {o["id"] for o in manager_client.get(ORDERS).json()["results"]} == {mine, theirs}


@pytest.mark.parametrize(
    ("scopes", "status"),
    [((), 403), (("catalog:write", "stock:write"), 403), (("orders:write",), 201)],
)
def test_placing_orders_needs_the_orders_scope(key_client, tee, scopes, status):
    client = key_client(*scopes)
    assert _place(client, {"variant": _variant(tee, "S-M").pk, "quantity": 1}).status_code == status
    assert client.get(ORDERS).status_code == (200 if status == 201 else 403)


def test_anonymous_callers_get_401(tee):
    assert APIClient().get(ORDERS).status_code == 401


def test_store_staff_place_and_move_orders(store_staff, tee):
    client = APIClient()
    client.force_login(store_staff)
    order_id = _place(client, {"variant": _variant(tee, "S-M").pk, "quantity": 1}).json()["id"]
    assert client.post(order_url(order_id, "pay")).status_code == 200


def test_no_action_reaches_another_client_s_order(key_client, tee):
    first, second = key_client("orders:write"), key_client("orders:write")
    theirs = _place(second, {"variant": _variant(tee, "S-M").pk, "quantity": 2}).json()["id"]
    second.post(order_url(theirs, "pay"))
    line = Order.objects.get(pk=theirs).lines.get()
    assert first.post(order_url(theirs, "fulfil")).status_code == 404
    second.post(order_url(theirs, "fulfil"))
    response = first.post(
        order_url(theirs, "returns"), {"lines": [{"line": line.pk, "quantity": 1}]}, format="json"
    )
    assert response.status_code == 404
    assert not OrderReturn.objects.exists()


def test_staff_need_the_permission_of_each_action(django_user_model, order):
    from django.contrib.auth.models import Permission

    viewer = django_user_model.objects.create_user("viewer", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_order"))
    client = APIClient()
    client.force_login(viewer)
    assert client.get(order_url(order.pk)).status_code == 200
    for action in ("pay", "fulfil", "cancel"):
        assert client.post(order_url(order.pk, action)).status_code == 403
    line = order.lines.first()
    assert (
        client.post(
            order_url(order.pk, "returns"),
            {"lines": [{"line": line.pk, "quantity": 1}]},
            format="json",
        ).status_code
        == 403
    )
    assert (
        client.post(
            ORDERS, {"lines": [{"variant": line.variant_id, "quantity": 1}]}, format="json"
        ).status_code
        == 403
    )
    assert Order.objects.get(pk=order.pk).status == "placed"
