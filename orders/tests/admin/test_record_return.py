"""Recording a return of a fulfilled order on its own page, through the same service as the
API: all of it or nothing, its errors on the form, only with the return permission."""

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.contrib import messages
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.urls import reverse

from catalog.models import Variant
from catalog.tests.support import admin_url
from orders import services
from orders.models import Order, OrderReturn
from orders.services import ReturnRequest
from orders.tests.admin.support import (
    ACTOR,
    _cancel_url,
    _ledger,
    _messages,
    _move,
    _order_state,
    _quantities,
)
from stock.models import StockMovement

pytestmark = pytest.mark.django_db


def _return_url(order: Order) -> str:
    return reverse("admin:orders_order_return", args=[order.pk])


def _return_form(
    order: Order, by_sku: dict[str, Any] | None = None, note: str = ""
) -> dict[str, str]:
    """The return page as posted: units back per line by SKU (0 for the others)."""
    data = {"note": note}
    for line in order.lines.all():
        data[f"line_{line.pk}"] = str((by_sku or {}).get(line.sku, 0))
    return data


def _returns_state(order: Order) -> tuple[Any, ...]:
    return (
        _order_state(order),
        list(OrderReturn.objects.values_list("id", "refund_total")),
        _ledger(),
        _quantities(),
    )


def test_every_staff_role_finds_record_a_return_on_a_fulfilled_order(
    web: Client, order: Order
) -> None:
    placed_page = web.get(admin_url("change", order)).content.decode()
    _move(order, "pay", "fulfil")
    fulfilled_page = web.get(admin_url("change", order)).content.decode()
    form_page = web.get(_return_url(order))

    assert f'href="{_return_url(order)}"' not in placed_page
    assert f'href="{_return_url(order)}"' in fulfilled_page
    assert f'href="{_cancel_url(order)}"' not in fulfilled_page
    assert form_page.status_code == 200
    rows = [(line.sku, remaining) for line, _, remaining in form_page.context["rows"]]
    assert rows == [(line.sku, line.quantity) for line in order.lines.all()]


@pytest.mark.parametrize("user", ["manager", "store_staff"])
def test_a_return_restocks_and_records_the_refund_through_the_service(
    request: pytest.FixtureRequest,
    login: Callable[[User], Client],
    order: Order,
    small: Variant,
    one_size: Variant,
    user: str,
) -> None:
    staff: User = request.getfixturevalue(user)
    _move(order, "pay", "fulfil")
    quantities = _quantities()

    response = login(staff).post(
        _return_url(order),
        _return_form(order, {small.sku: 1, one_size.sku: 1}, note="Too small"),
        follow=True,
    )

    assert response.redirect_chain == [(admin_url("change", order), 302)]
    assert _messages(response) == [
        (
            messages.SUCCESS,
            f"Return recorded for {order.number}: 2 unit(s) back in stock, refund 88.90 EUR.",
        )
    ]
    order_return = OrderReturn.objects.get()
    assert (order_return.order_id, order_return.refund_total, order_return.note) == (
        order.pk,
        Decimal("88.90"),
        "Too small",
    )
    assert order_return.recorded_by == staff.username
    assert dict(order.lines.values_list("sku", "returned_quantity")) == {
        small.sku: 1,
        one_size.sku: 1,
    }
    assert _quantities() == {
        **quantities,
        small.sku: quantities[small.sku] + 1,
        one_size.sku: quantities[one_size.sku] + 1,
    }
    movements = StockMovement.objects.filter(reason="returned").order_by("variant_id")
    assert list(movements.values_list("variant", "delta", "user", "reference", "note")) == sorted(
        [
            (small.pk, 1, staff.pk, order.number, "Too small"),
            (one_size.pk, 1, staff.pk, order.number, "Too small"),
        ]
    )
    # The order's page lists it.
    assert "88.90" in response.content.decode()


@pytest.mark.parametrize(
    ("quantities", "field_error"),
    [
        pytest.param({"S-M": 3}, "At most 2: sold 2, returned 0 already.", id="more than sold"),
        pytest.param({"S-M": -1}, "greater than or equal to 0", id="negative"),
        pytest.param({"S-M": "two"}, "Enter a whole number.", id="not a number"),
    ],
)
def test_a_return_the_order_does_not_allow_is_refused_with_nothing_recorded(
    manager_web: Client,
    order: Order,
    small: Variant,
    one_size: Variant,
    quantities: dict[str, Any],
    field_error: str,
) -> None:
    _move(order, "pay", "fulfil")
    before = _returns_state(order)
    by_sku = {small.sku: quantities["S-M"], one_size.sku: 1}

    response = manager_web.post(_return_url(order), _return_form(order, by_sku))

    assert response.status_code == 200
    line = order.lines.get(variant=small)
    assert field_error in " ".join(response.context["form"].errors[f"line_{line.pk}"])
    assert "Nothing was recorded" in response.content.decode()
    assert _returns_state(order) == before


def test_a_return_of_nothing_is_refused(manager_web: Client, order: Order) -> None:
    _move(order, "pay", "fulfil")
    before = _returns_state(order)

    response = manager_web.post(_return_url(order), _return_form(order))

    assert response.status_code == 200
    assert "Enter the units returned for at least one line." in response.content.decode()
    assert _returns_state(order) == before


def test_never_more_than_sold_minus_returned_already(
    manager_web: Client, order: Order, order_return: OrderReturn, small: Variant
) -> None:
    # One of the two tees came back already (the order_return fixture).
    page = manager_web.get(_return_url(order))
    remaining = {line.sku: left for line, _, left in page.context["rows"]}
    before = _returns_state(order)

    response = manager_web.post(_return_url(order), _return_form(order, {small.sku: 2}))

    assert remaining[small.sku] == 1
    line = order.lines.get(variant=small)
    assert response.context["form"].errors[f"line_{line.pk}"] == [
        "At most 1: sold 2, returned 1 already."
    ]
    assert _returns_state(order) == before


def test_a_line_returned_in_full_since_the_page_was_drawn_is_refused_not_dropped(
    manager_web: Client, order: Order, small: Variant, one_size: Variant
) -> None:
    _move(order, "pay", "fulfil")
    # The page as drawn: both lines open. Meanwhile the shirt comes back through the API.
    form = _return_form(order, {small.sku: 1, one_size.sku: 1})
    shirt_line = order.lines.get(variant=one_size)
    services.order_return(
        order_id=order.pk, lines=[ReturnRequest(line_id=shirt_line.pk, quantity=1)], actor=ACTOR
    )
    before = _returns_state(order)

    response = manager_web.post(_return_url(order), form)

    assert response.context["form"].errors[f"line_{shirt_line.pk}"] == [
        "At most 0: sold 1, returned 1 already."
    ]
    assert _returns_state(order) == before


def test_the_services_own_refusal_comes_back_onto_the_form(
    manager_web: Client,
    order: Order,
    small: Variant,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The form was checked against the order as read; a return recorded between that check and
    # the service's lock is caught by the service, and nothing of this one is recorded.
    _move(order, "pay", "fulfil")
    line = order.lines.get(variant=small)
    record = services.order_return

    def returned_meanwhile(**kwargs: Any) -> OrderReturn:
        record(order_id=order.pk, lines=[ReturnRequest(line_id=line.pk, quantity=2)], actor=ACTOR)
        return record(**kwargs)

    monkeypatch.setattr(services, "order_return", returned_meanwhile)

    response = manager_web.post(_return_url(order), _return_form(order, {small.sku: 1}))

    assert response.status_code == 200
    assert response.context["form"].errors[f"line_{line.pk}"] == [
        "This line was returned in full already."
    ]
    assert OrderReturn.objects.count() == 1  # the one made meanwhile
    assert order.lines.get(pk=line.pk).returned_quantity == 2


@pytest.mark.parametrize("steps", [[], ["pay"], ["cancel"]])
def test_only_a_fulfilled_order_takes_a_return(
    manager_web: Client, order: Order, small: Variant, steps: list[str]
) -> None:
    _move(order, *steps)
    before = _returns_state(order)

    page = manager_web.get(_return_url(order), follow=True)
    posted = manager_web.post(_return_url(order), _return_form(order, {small.sku: 1}), follow=True)

    for response in (page, posted):
        assert response.redirect_chain == [(admin_url("change", order), 302)]
        assert _messages(response) == [
            (
                messages.ERROR,
                f"Only a fulfilled order takes returns; {order.number} is {order.status}.",
            )
        ]
    assert _returns_state(order) == before


def test_returns_need_the_return_permission(
    login: Callable[[User], Client], order: Order, small: Variant
) -> None:
    _move(order, "pay", "fulfil")
    viewer = User.objects.create_user("viewer", password="pw", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_order"))
    client = login(viewer)
    before = _returns_state(order)

    page = client.get(admin_url("change", order))
    form_page = client.get(_return_url(order))
    posted = client.post(_return_url(order), _return_form(order, {small.sku: 1}))

    assert page.status_code == 200
    assert f'href="{_return_url(order)}"' not in page.content.decode()
    assert (form_page.status_code, posted.status_code) == (403, 403)
    assert _returns_state(order) == before
