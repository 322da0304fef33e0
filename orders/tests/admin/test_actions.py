"""The list's actions (mark paid, mark fulfilled, cancel): the services, in the staff user's
name; what the status does not allow changes nothing and says so."""

from collections.abc import Callable
from io import StringIO
from typing import Any

import pytest
from django.contrib import messages
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from catalog.models import Variant
from conftest import PlaceOrder
from orders.models import Order, OrderStatus
from orders.tests.admin.support import (
    ORDERS,
    ROLES,
    _ledger,
    _messages,
    _move,
    _order_state,
    _quantities,
)
from stock.models import StockMovement

pytestmark = pytest.mark.django_db


def _act(client: Client, action: str, *orders: Order) -> Any:
    """Run a changelist action on ``orders``, as ticking them and pressing Go does (and, for a
    cancel, "Yes" on the page that asks first), and follow the redirect back to the list, where
    the messages are shown."""
    data: dict[str, Any] = {"action": action, "_selected_action": [order.pk for order in orders]}
    if action == "cancel":
        data["post"] = "yes"
    response = client.post(ORDERS, data, follow=True)
    assert response.redirect_chain == [(ORDERS, 302)]
    return response


@pytest.mark.parametrize("user", ROLES)
def test_mark_paid_then_fulfilled(
    request: pytest.FixtureRequest,
    login: Callable[[User], Client],
    order: Order,
    small: Variant,
    one_size: Variant,
    user: str,
) -> None:
    client = login(request.getfixturevalue(user))
    ledger, quantities = _ledger(), _quantities()

    start = timezone.now()
    paid = _act(client, "mark_paid", order)
    paid_at = Order.objects.get(pk=order.pk).paid_at
    # Paying moves no stock.
    assert (_ledger(), _quantities()) == (ledger, quantities)
    fulfilled = _act(client, "mark_fulfilled", order)
    end = timezone.now()

    assert (paid.status_code, fulfilled.status_code) == (200, 200)
    assert _messages(paid) == [(messages.SUCCESS, f"Pay: {order.number}.")]
    assert _messages(fulfilled) == [(messages.SUCCESS, f"Fulfil: {order.number}.")]
    order.refresh_from_db()
    assert order.status == OrderStatus.FULFILLED
    assert order.paid_at == paid_at
    assert order.paid_at is not None
    assert order.fulfilled_at is not None
    assert start <= order.paid_at <= order.fulfilled_at <= end
    assert order.cancelled_at is None
    # Fulfilling takes the committed units off the shelf, one sale per line in the staff
    # user's name: what is available stays as it was.
    assert _quantities() == quantities
    picked = StockMovement.objects.filter(pk__gt=ledger[-1][0]).order_by("variant_id")
    staff: User = request.getfixturevalue(user)
    assert list(
        picked.values_list(
            "variant",
            "reason",
            "delta",
            "quantity_after",
            "committed_delta",
            "committed_after",
            "location__code",
            "reference",
            "user",
        )
    ) == [
        (small.pk, "sale", -2, 8, -2, 0, "MAIN", order.number, staff.pk),
        (one_size.pk, "sale", -1, 2, -1, 0, "MAIN", order.number, staff.pk),
    ]
    assert dict(Variant.objects.values_list("sku", "committed")) == dict.fromkeys(quantities, 0)


@pytest.mark.parametrize("paid_first", [False, True], ids=["placed", "paid"])
@pytest.mark.parametrize("user", ["manager", "store_staff"])
def test_cancel_restocks_every_line_through_the_ledger_in_the_staff_users_name(
    request: pytest.FixtureRequest,
    login: Callable[[User], Client],
    order: Order,
    small: Variant,
    one_size: Variant,
    paid_first: bool,
    user: str,
) -> None:
    staff: User = request.getfixturevalue(user)
    if paid_first:
        _move(order, "pay")
    assert _quantities()[small.sku] == 8
    assert _quantities()[one_size.sku] == 2

    start = timezone.now()
    response = _act(login(staff), "cancel", order)

    assert _messages(response) == [(messages.SUCCESS, f"Cancel: {order.number}.")]
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED
    assert order.cancelled_at is not None
    assert start <= order.cancelled_at <= timezone.now()
    assert (order.paid_at is not None) == paid_first
    assert _quantities()[small.sku] == 10
    assert _quantities()[one_size.sku] == 3
    # The units never left the shelf: the cancel releases what the order committed.
    restocks = StockMovement.objects.filter(reason="order_cancelled").order_by("variant_id")
    rows: list[tuple[Any, ...]] = list(
        restocks.values_list(
            "variant",
            "delta",
            "quantity_after",
            "committed_delta",
            "committed_after",
            "location__code",
            "actor_kind",
            "actor",
            "user",
            "api_key",
        )
    )
    assert rows == sorted(
        [
            (small.pk, 0, 10, -2, 0, "MAIN", "user", staff.username, staff.pk, None),
            (one_size.pk, 0, 3, -1, 0, "MAIN", "user", staff.username, staff.pk, None),
        ]
    )
    assert dict(Variant.objects.values_list("sku", "committed")) == dict.fromkeys(_quantities(), 0)
    assert set(restocks.values_list("reference", flat=True)) == {order.number}


@pytest.mark.parametrize(
    ("steps", "action"),
    [
        pytest.param(["pay"], "mark_paid", id="pay a paid order"),
        pytest.param(["cancel"], "mark_paid", id="pay a cancelled order"),
        pytest.param([], "mark_fulfilled", id="fulfil an unpaid order"),
        pytest.param(["pay", "fulfil"], "mark_fulfilled", id="fulfil a fulfilled order"),
        pytest.param(["pay", "fulfil"], "cancel", id="cancel a fulfilled order"),
        pytest.param(["cancel"], "cancel", id="cancel a cancelled order"),
    ],
)
def test_an_action_the_status_does_not_allow_changes_nothing_and_warns(
    manager_web: Client, order: Order, steps: list[str], action: str
) -> None:
    _move(order, *steps)
    before = _order_state(order)
    ledger, quantities = _ledger(), _quantities()

    response = _act(manager_web, action, order)

    assert _messages(response) == [
        (
            messages.WARNING,
            f"Left unchanged, their status does not allow it: {order.number} ({before['status']}).",
        )
    ]
    assert _order_state(order) == before
    assert (_ledger(), _quantities()) == (ledger, quantities)


def test_a_mixed_selection_changes_only_the_orders_whose_status_allows_it(
    manager_web: Client, manager: User, place_order: PlaceOrder, small: Variant
) -> None:
    placed = place_order((small, 1))
    paid = _move(place_order((small, 2)), "pay")
    cancelled = _move(place_order((small, 3)), "cancel")
    fulfilled = _move(place_order((small, 4)), "pay", "fulfil")
    untouched = {o.number: _order_state(o) for o in (cancelled, fulfilled)}
    assert _quantities()[small.sku] == 10 - 1 - 2 - 4

    response = _act(manager_web, "cancel", fulfilled, cancelled, paid, placed)

    assert _messages(response) == [
        (messages.SUCCESS, f"Cancel: {placed.number}, {paid.number}."),
        (
            messages.WARNING,
            "Left unchanged, their status does not allow it: "
            f"{cancelled.number} (cancelled), {fulfilled.number} (fulfilled).",
        ),
    ]
    for changed in (placed, paid):
        changed.refresh_from_db()
        assert changed.status == OrderStatus.CANCELLED
    assert {o.number: _order_state(o) for o in (cancelled, fulfilled)} == untouched
    # The two cancelled here are restocked once each, by the manager; the one cancelled
    # before is not restocked again.
    assert _quantities()[small.sku] == 10 - 4
    assert list(
        StockMovement.objects.filter(reason="order_cancelled", user=manager)
        .order_by("reference")
        .values_list("reference", "delta", "committed_delta")
    ) == sorted([(placed.number, 0, -1), (paid.number, 0, -2)])
    assert StockMovement.objects.filter(reference=cancelled.number).count() == 2
    out = StringIO()
    call_command("reconcile_stock", stdout=out)  # raises CommandError on any drift
    assert out.getvalue().startswith("OK: ")
