"""The order list: its status and date filters, its date hierarchy and its search."""

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from catalog.models import Variant
from conftest import PlaceOrder
from orders.models import Order, OrderStatus
from orders.tests.admin.support import ORDERS, _move

pytestmark = pytest.mark.django_db


def _listed(client: Client, **params: Any) -> list[Order]:
    response = client.get(ORDERS, params)
    assert response.status_code == 200
    return list(response.context["cl"].result_list)


@pytest.fixture
def one_of_each(place_order: PlaceOrder, small: Variant) -> dict[str, Order]:
    """An order in each status, by status."""
    return {
        OrderStatus.PLACED: place_order((small, 1)),
        OrderStatus.PAID: _move(place_order((small, 1)), "pay"),
        OrderStatus.FULFILLED: _move(place_order((small, 1)), "pay", "fulfil"),
        OrderStatus.CANCELLED: _move(place_order((small, 1)), "cancel"),
    }


def _filter_links(client: Client, title: str) -> dict[str, str]:
    """The links of the changelist's filter ``title`` (as shown in the sidebar), by label."""
    changelist = client.get(ORDERS).context["cl"]
    [spec] = [spec for spec in changelist.filter_specs if spec.title == title]
    return {str(link["display"]): link["query_string"] for link in spec.choices(changelist)}


@pytest.mark.parametrize("status", OrderStatus)
def test_the_status_filter_lists_the_orders_in_that_status(
    manager_web: Client, one_of_each: dict[str, Order], status: OrderStatus
) -> None:
    assert _listed(manager_web) == sorted(one_of_each.values(), key=lambda o: -o.pk)
    link = _filter_links(manager_web, "status")[status.label]

    response = manager_web.get(ORDERS + link)

    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [one_of_each[status]]


@pytest.fixture
def old_and_new(place_order: PlaceOrder, small: Variant) -> tuple[Order, Order]:
    """An order placed on 15 March 2024 and one placed now."""
    old, new = place_order((small, 1)), place_order((small, 1))
    Order.objects.filter(pk=old.pk).update(created_at=datetime(2024, 3, 15, 10, 0, tzinfo=UTC))
    return old, new


@pytest.mark.parametrize("choice", ["Today", "Past 7 days", "This month", "This year"])
def test_the_date_filter_lists_the_orders_of_that_period(
    manager_web: Client, old_and_new: tuple[Order, Order], choice: str
) -> None:
    _, new = old_and_new
    link = _filter_links(manager_web, "created at")[choice]

    response = manager_web.get(ORDERS + link)

    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [new]


def _on_day(client: Client, day: date) -> list[Order]:
    """The orders listed after clicking through the date hierarchy to ``day``."""
    return _listed(
        client, created_at__year=day.year, created_at__month=day.month, created_at__day=day.day
    )


def test_the_date_hierarchy_lists_the_orders_of_that_day(
    manager_web: Client, old_and_new: tuple[Order, Order]
) -> None:
    old, new = old_and_new
    today = timezone.localdate()
    html = manager_web.get(ORDERS).content.decode()
    # The hierarchy above the list offers the years that have orders.
    assert 'href="?created_at__year=2024"' in html
    assert f'href="?created_at__year={today.year}"' in html

    assert _listed(manager_web, created_at__year=2024) == [old]
    assert _on_day(manager_web, date(2024, 3, 15)) == [old]
    assert _on_day(manager_web, date(2024, 3, 16)) == []
    assert _on_day(manager_web, today) == [new]


@pytest.fixture
def referenced(place_order: PlaceOrder, small: Variant) -> dict[str, Order]:
    return {
        "ours": place_order((small, 1), customer_reference="CUST-0042"),
        "theirs": place_order((small, 1), customer_reference="CUST-0777"),
        "anonymous": place_order((small, 1), note="CUST-0042 asked by phone"),
    }


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        pytest.param("CUST-0042", ["ours"], id="reference"),
        pytest.param("cust-0777", ["theirs"], id="reference any case"),
        pytest.param("CUST-0", ["theirs", "ours"], id="part of references"),
        pytest.param("nobody", [], id="no match"),
    ],
)
def test_search_by_customer_reference(
    manager_web: Client, referenced: dict[str, Order], query: str, expected: list[str]
) -> None:
    assert _listed(manager_web, q=query) == [referenced[name] for name in expected]


@pytest.mark.parametrize(
    "typed",
    [
        pytest.param(str, id="whole number"),
        pytest.param(str.lower, id="lower case"),
        pytest.param(lambda number: number[3:9], id="part"),
    ],
)
def test_search_by_number(
    manager_web: Client, referenced: dict[str, Order], typed: Callable[[str], str]
) -> None:
    wanted = referenced["theirs"]

    assert _listed(manager_web, q=typed(wanted.number)) == [wanted]
