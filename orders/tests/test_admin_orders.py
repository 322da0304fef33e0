"""Orders in the admin: every staff role sees orders with their lines; nothing about an order is
editable (money, status, lines), nothing is added or deleted; status changes only through the
actions, which call the order services, so a cancel here restocks through the ledger in the staff
user's name; returns are listed read-only."""

import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from io import StringIO
from typing import Any

import pytest
from django.contrib import messages
from django.contrib.auth.models import Permission, User
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from catalog.models import Product, Variant
from catalog.tests.support import admin_url
from conftest import PlaceOrder
from core.actors import system_actor
from orders import services
from orders.admin import OrderAdmin
from orders.exceptions import InvalidTransition
from orders.models import Order, OrderReturn, OrderStatus
from orders.services import ReturnRequest
from stock.models import StockMovement

pytestmark = pytest.mark.django_db

ORDERS = reverse("admin:orders_order_changelist")
ORDER_ADD = reverse("admin:orders_order_add")
RETURNS = reverse("admin:orders_orderreturn_changelist")
RETURN_ADD = reverse("admin:orders_orderreturn_add")

ROLES = ["admin_user", "manager", "store_staff"]

ACTOR = system_actor("test")


@pytest.fixture(params=ROLES)
def web(request: pytest.FixtureRequest, login: Callable[[User], Client]) -> Client:
    """A browser session of a superuser, a Manager or a Store staff member."""
    user: User = request.getfixturevalue(request.param)
    return login(user)


@pytest.fixture
def tee(make_product: Callable[..., Product]) -> Product:
    return make_product(name="Organic Cotton Tee", price="29.90", stock={"S-M": 10, "L-XL": 5})


@pytest.fixture
def shirt(make_product: Callable[..., Product]) -> Product:
    return make_product(name="Linen Shirt", price="59.00", stock={"One Size": 3})


@pytest.fixture
def small(tee: Product) -> Variant:
    return tee.variants.get(size="S-M")


@pytest.fixture
def one_size(shirt: Product) -> Variant:
    return shirt.variants.get()


@pytest.fixture
def order(place_order: PlaceOrder, small: Variant, one_size: Variant) -> Order:
    """Two tees at 29.90 and a shirt at 59.00: 118.80."""
    return place_order((small, 2), (one_size, 1), customer_reference="CUST-0042")


def _listed(client: Client, **params: Any) -> list[Order]:
    response = client.get(ORDERS, params)
    assert response.status_code == 200
    return list(response.context["cl"].result_list)


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


def _messages(response: Any) -> list[tuple[int, str]]:
    """The messages shown on the page."""
    shown = [(m.level, m.message) for m in response.context["messages"]]
    html = response.content.decode()
    for _, text in shown:
        assert escape(text) in html
    return shown


def _order_state(order: Order) -> dict[str, Any]:
    """All of an order that money and status are made of (``updated_at`` aside)."""
    row = Order.objects.values(
        "number",
        "status",
        "total",
        "currency",
        "customer_reference",
        "note",
        "placed_by",
        "api_key",
        "user",
        "created_at",
        "paid_at",
        "fulfilled_at",
        "cancelled_at",
    ).get(pk=order.pk)
    lines = order.lines.order_by("id").values_list(
        "variant", "sku", "quantity", "unit_price", "line_total", "returned_quantity"
    )
    return {**row, "lines": list(lines)}


def _ledger() -> list[tuple[Any, ...]]:
    return list(StockMovement.objects.order_by("id").values_list("id", "variant", "delta"))


def _quantities() -> dict[str, int]:
    return dict(Variant.objects.values_list("sku", "quantity"))


def _move(order: Order, *actions: str) -> Order:
    for action in actions:
        services.order_transition(order_id=order.pk, action=action, actor=ACTOR)
    order.refresh_from_db()
    return order


# Seeing orders


def test_every_staff_role_sees_the_order_list_and_page(web: Client, order: Order) -> None:
    changelist = web.get(ORDERS)
    page = web.get(admin_url("change", order))

    assert changelist.status_code == 200
    assert list(changelist.context["cl"].result_list) == [order]
    listed = changelist.content.decode()
    assert order.number in listed
    assert "118.80" in listed
    assert "CUST-0042" in listed
    assert page.status_code == 200
    html = page.content.decode()
    assert order.number in html
    assert "118.80" in html
    assert "web-shop" in html  # who placed it


LINE_COLUMNS = ("sku", "product_name", "quantity", "unit_price", "line_total")


@pytest.mark.parametrize(
    "web",
    [
        "admin_user",
        "manager",
        "store_staff",
    ],
    indirect=True,
)
def test_the_order_page_shows_its_lines_with_unit_prices_and_totals(
    web: Client, order: Order, small: Variant, one_size: Variant
) -> None:
    response = web.get(admin_url("change", order))

    assert response.status_code == 200
    inlines = {
        inline.opts.model._meta.model_name: inline
        for inline in response.context["inline_admin_formsets"]
    }
    assert "orderline" in inlines
    lines = inlines["orderline"]
    rows = [
        tuple(str(getattr(form.instance, field)) for field in LINE_COLUMNS)
        for form in lines.formset.forms
    ]
    assert rows == [
        (small.sku, "Organic Cotton Tee", "2", "29.90", "59.80"),
        (one_size.sku, "Linen Shirt", "1", "59.00", "59.00"),
    ]
    html = response.content.decode()
    for shown in (small.sku, one_size.sku, "29.90", "59.80", "59.00", "Linen Shirt"):
        assert shown in html
    # Shown, not editable: no inputs for the lines, no adding or removing one.
    assert (lines.has_add_permission, lines.has_change_permission) == (False, False)
    assert lines.formset.can_delete is False
    assert 'name="lines-0-DELETE"' not in html
    assert 'name="lines-0-quantity"' not in html
    assert 'name="lines-0-unit_price"' not in html


def test_the_order_page_has_no_editable_field(web: Client, order: Order) -> None:
    response = web.get(admin_url("change", order))

    assert response.status_code == 200
    assert dict(response.context["adminform"].form.fields) == {}
    html = response.content.decode()
    for field in ("total", "status", "currency", "customer_reference", "paid_at"):
        assert f'name="{field}"' not in html


# Nothing about an order is changed, added or deleted by hand


# What the order page submits: only the inlines' management forms, every field being read-only.
UNCHANGED_FORM = {
    "lines-TOTAL_FORMS": "2",
    "lines-INITIAL_FORMS": "2",
    "lines-MIN_NUM_FORMS": "0",
    "lines-MAX_NUM_FORMS": "1000",
    "returns-TOTAL_FORMS": "0",
    "returns-INITIAL_FORMS": "0",
    "returns-MIN_NUM_FORMS": "0",
    "returns-MAX_NUM_FORMS": "1000",
    "_save": "Save",
}


def _tampered_form(order: Order) -> dict[str, str]:
    """The change form with money, status and lines typed in, as a crafted POST would send."""
    line = order.lines.order_by("id").first()
    assert line is not None
    return {
        **UNCHANGED_FORM,
        "number": "SO-FORGED",
        "status": OrderStatus.CANCELLED,
        "total": "0.01",
        "currency": "USD",
        "customer_reference": "someone else",
        "cancelled_at_0": "2024-01-01",
        "cancelled_at_1": "00:00:00",
        "lines-TOTAL_FORMS": "3",
        "lines-0-id": str(line.pk),
        "lines-0-order": str(order.pk),
        "lines-0-quantity": "99",
        "lines-0-unit_price": "0.01",
        "lines-0-DELETE": "on",
        "lines-2-variant": str(line.variant_id),
        "lines-2-quantity": "5",
        "lines-2-unit_price": "0.01",
    }


def test_posting_the_order_page_changes_no_money_status_or_line(web: Client, order: Order) -> None:
    before = _order_state(order)
    ledger, quantities = _ledger(), _quantities()

    response = web.post(admin_url("change", order), _tampered_form(order))

    assert response.status_code == 302
    assert _order_state(order) == before
    assert order.lines.count() == 2
    assert _ledger() == ledger
    assert _quantities() == quantities


def test_saving_the_order_page_never_undoes_a_cancel_made_meanwhile(
    manager_web: Client, order: Order, monkeypatch: pytest.MonkeyPatch
) -> None:
    read_order = OrderAdmin.get_object

    def read_then_cancelled_elsewhere(
        admin: OrderAdmin, request: Any, object_id: str, from_field: str | None = None
    ) -> Order | None:
        """The page has read the order when the web shop's cancel commits."""
        found = read_order(admin, request, object_id, from_field)
        if request.method == "POST" and found is not None:
            services.order_transition(order_id=found.pk, action="cancel", actor=ACTOR)
        return found

    monkeypatch.setattr(OrderAdmin, "get_object", read_then_cancelled_elsewhere)

    # Saving the page as it was shown, changing nothing.
    response = manager_web.post(admin_url("change", order), UNCHANGED_FORM)

    assert response.status_code == 302
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED
    assert order.cancelled_at is not None
    with pytest.raises(InvalidTransition):
        services.order_transition(order_id=order.pk, action="cancel", actor=ACTOR)


def test_orders_are_neither_added_nor_deleted_in_the_admin(web: Client, order: Order) -> None:
    before = _order_state(order)
    delete_url = admin_url("delete", order)

    statuses = {
        "add page": web.get(ORDER_ADD).status_code,
        "add": web.post(ORDER_ADD, _tampered_form(order)).status_code,
        "delete page": web.get(delete_url).status_code,
        "delete": web.post(delete_url, {"post": "yes"}).status_code,
    }
    changelist = web.get(ORDERS)
    forced = web.post(
        ORDERS, {"action": "delete_selected", "_selected_action": [order.pk], "post": "yes"}
    )

    assert statuses == dict.fromkeys(statuses, 403)
    offered = [name for name, _ in changelist.context["action_form"].fields["action"].choices]
    assert offered == ["", "mark_paid", "mark_fulfilled", "cancel"]
    assert "delete_selected" not in changelist.content.decode()
    assert forced.status_code == 302  # "no action selected": nothing happens
    assert Order.objects.count() == 1
    assert _order_state(order) == before


# Filters and search


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


# Actions: the services, in the staff user's name


@pytest.mark.parametrize("user", ROLES)
def test_mark_paid_then_fulfilled(
    request: pytest.FixtureRequest, login: Callable[[User], Client], order: Order, user: str
) -> None:
    client = login(request.getfixturevalue(user))
    ledger, quantities = _ledger(), _quantities()

    start = timezone.now()
    paid = _act(client, "mark_paid", order)
    paid_at = Order.objects.get(pk=order.pk).paid_at
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
    # Paying and fulfilling move no stock.
    assert (_ledger(), _quantities()) == (ledger, quantities)


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
    restocks = StockMovement.objects.filter(reason="order_cancelled").order_by("variant_id")
    rows: list[tuple[Any, ...]] = list(
        restocks.values_list(
            "variant", "delta", "quantity_after", "actor_kind", "actor", "user", "api_key"
        )
    )
    assert rows == sorted(
        [
            (small.pk, 2, 10, "user", staff.username, staff.pk, None),
            (one_size.pk, 1, 3, "user", staff.username, staff.pk, None),
        ]
    )
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
        .values_list("reference", "delta")
    ) == sorted([(placed.number, 1), (paid.number, 2)])
    assert StockMovement.objects.filter(reference=cancelled.number).count() == 2
    out = StringIO()
    call_command("reconcile_stock", stdout=out)  # raises CommandError on any drift
    assert out.getvalue().startswith("OK: ")


# Returns


@pytest.fixture
def order_return(order: Order, small: Variant) -> OrderReturn:
    """One of the two tees came back after the order was fulfilled."""
    _move(order, "pay", "fulfil")
    line = order.lines.get(variant=small)
    return services.order_return(
        order_id=order.pk,
        lines=[ReturnRequest(line_id=line.pk, quantity=1)],
        actor=ACTOR,
        note="Too small",
    )


def _return_state(order_return: OrderReturn) -> tuple[Any, ...]:
    return (
        OrderReturn.objects.values_list("order", "refund_total", "note", "recorded_by").get(
            pk=order_return.pk
        ),
        list(order_return.lines.values_list("line", "quantity", "refund_amount")),
    )


@pytest.mark.parametrize(
    "web",
    [
        "admin_user",
        "manager",
        "store_staff",
    ],
    indirect=True,
)
def test_the_returns_admin_lists_returns_read_only(
    web: Client, order: Order, order_return: OrderReturn
) -> None:
    before = _return_state(order_return)
    assert before[0][1] == Decimal("29.90")  # one tee refunded at the price it was sold at
    page_url = admin_url("change", order_return)

    changelist = web.get(RETURNS)
    page = web.get(page_url)
    order_page = web.get(admin_url("change", order))
    statuses = {
        "add page": web.get(RETURN_ADD).status_code,
        "add": web.post(RETURN_ADD, {"order": str(order.pk), "refund_total": "1.00"}).status_code,
        "delete page": web.get(admin_url("delete", order_return)).status_code,
        "delete": web.post(admin_url("delete", order_return), {"post": "yes"}).status_code,
    }
    tampered = web.post(
        page_url,
        {
            "refund_total": "999.00",
            "note": "rewritten",
            "lines-TOTAL_FORMS": "1",
            "lines-INITIAL_FORMS": "1",
            "lines-MIN_NUM_FORMS": "0",
            "lines-MAX_NUM_FORMS": "1000",
            "lines-0-id": str(order_return.lines.get().pk),
            "lines-0-quantity": "2",
            "lines-0-refund_amount": "999.00",
        },
    )

    assert changelist.status_code == 200
    assert list(changelist.context["cl"].result_list) == [order_return]
    assert "29.90" in changelist.content.decode()
    assert page.status_code == 200
    html = page.content.decode()
    assert "Too small" in html
    assert "29.90" in html
    assert dict(page.context["adminform"].form.fields) == {}
    [lines] = page.context["inline_admin_formsets"]
    assert [form.instance for form in lines.formset.forms] == list(order_return.lines.all())
    assert (lines.has_add_permission, lines.has_change_permission) == (False, False)
    assert 'name="note"' not in html
    # The order's page lists its returns too.
    assert order_page.status_code == 200
    assert "Too small" in order_page.content.decode()
    assert statuses == dict.fromkeys(statuses, 403)
    # Saving the page (superusers may) saves nothing; others may not post it at all.
    assert tampered.status_code == (302 if page.context["has_change_permission"] else 403)
    assert _return_state(order_return) == before
    assert OrderReturn.objects.count() == 1


# Cancelling asks first


CONFIRMATION = "admin/orders/order/cancel_confirmation.html"


def _text(response: Any) -> str:
    """The page's text as a reader sees it: no tags, one space between words."""
    return " ".join(re.sub(r"<[^>]+>", " ", response.content.decode()).split())


def _cancel_url(order: Order) -> str:
    return reverse("admin:orders_order_cancel", args=[order.pk])


def _return_url(order: Order) -> str:
    return reverse("admin:orders_order_return", args=[order.pk])


def test_the_cancel_action_asks_first_listing_the_orders_and_what_goes_back(
    manager_web: Client,
    place_order: PlaceOrder,
    order: Order,
    small: Variant,
    one_size: Variant,
) -> None:
    paid = _move(place_order((small, 3)), "pay")
    fulfilled = _move(place_order((one_size, 1)), "pay", "fulfil")
    before = {o.number: _order_state(o) for o in (order, paid, fulfilled)}
    ledger, quantities = _ledger(), _quantities()

    response = manager_web.post(
        ORDERS,
        {"action": "cancel", "_selected_action": [order.pk, paid.pk, fulfilled.pk]},
    )

    assert response.status_code == 200
    assert CONFIRMATION in [template.name for template in response.templates]
    html = response.content.decode()
    assert "Cancel these 2 orders? 6 units go back into stock" in _text(response)
    restock = {
        o.number: [(line.sku, units) for line, units in lines]
        for o, lines in response.context["cancellable"]
    }
    assert restock == {
        order.number: [(small.sku, 2), (one_size.sku, 1)],
        paid.number: [(small.sku, 3)],
    }
    for number, lines in restock.items():
        section = html.split(f'data-order="{number}"', 1)[1].split("</section>", 1)[0]
        for sku, units in lines:
            assert re.search(rf"<td>{sku}</td>.*?<td class=\"num\">{units}</td>", section)
    assert (
        f"Left unchanged: their status does not allow a cancel: {fulfilled.number} (fulfilled)."
        in _text(response)
    )
    # The "Yes" posts the action again, for the same orders, confirmed.
    for pk in (order.pk, paid.pk, fulfilled.pk):
        assert f'<input type="hidden" name="_selected_action" value="{pk}">' in html
    assert '<input type="hidden" name="action" value="cancel">' in html
    assert '<input type="hidden" name="post" value="yes">' in html
    # Nothing happened yet.
    assert {o.number: _order_state(o) for o in (order, paid, fulfilled)} == before
    assert (_ledger(), _quantities()) == (ledger, quantities)


def test_the_cancel_page_offers_no_yes_when_nothing_can_be_cancelled(
    manager_web: Client, order: Order
) -> None:
    _move(order, "pay", "fulfil")

    response = manager_web.post(ORDERS, {"action": "cancel", "_selected_action": [order.pk]})

    html = response.content.decode()
    assert (
        f"Nothing to cancel: their status does not allow a cancel: {order.number} (fulfilled)."
        in _text(response)
    )
    assert 'value="Yes, cancel and restock"' not in html


@pytest.mark.parametrize("paid_first", [False, True])
def test_an_order_is_cancelled_from_its_page_after_the_same_question(
    manager_web: Client,
    manager: User,
    order: Order,
    small: Variant,
    one_size: Variant,
    paid_first: bool,
) -> None:
    if paid_first:
        _move(order, "pay")
    page = manager_web.get(admin_url("change", order)).content.decode()
    assert f'href="{_cancel_url(order)}"' in page
    ledger = _ledger()

    question = manager_web.get(_cancel_url(order))

    assert question.status_code == 200
    assert f"Cancel order {order.number}" in _text(question)
    assert "Cancel this order? 3 units go back into stock" in _text(question)
    assert _ledger() == ledger
    answered = manager_web.post(_cancel_url(order), {"post": "yes"}, follow=True)

    assert answered.redirect_chain == [(admin_url("change", order), 302)]
    assert _messages(answered) == [(messages.SUCCESS, f"Cancel: {order.number}.")]
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED
    assert _quantities()[small.sku] == 10
    assert _quantities()[one_size.sku] == 3
    assert set(
        StockMovement.objects.filter(reason="order_cancelled").values_list("user", "reference")
    ) == {(manager.pk, order.number)}
    assert f'href="{_cancel_url(order)}"' not in answered.content.decode()


def test_posting_the_cancel_page_without_its_yes_changes_nothing(
    manager_web: Client, order: Order
) -> None:
    before, ledger = _order_state(order), _ledger()

    response = manager_web.post(_cancel_url(order), {})

    assert response.status_code == 200
    assert _order_state(order) == before
    assert _ledger() == ledger


def test_cancelling_from_the_page_an_order_fulfilled_meanwhile_changes_nothing(
    manager_web: Client, order: Order
) -> None:
    question = manager_web.get(_cancel_url(order))
    assert 'value="Yes, cancel and restock"' in question.content.decode()
    _move(order, "pay", "fulfil")  # elsewhere, before "Yes"
    before, ledger = _order_state(order), _ledger()

    answered = manager_web.post(_cancel_url(order), {"post": "yes"}, follow=True)

    assert _messages(answered) == [
        (
            messages.WARNING,
            f"Left unchanged, their status does not allow it: {order.number} (fulfilled).",
        )
    ]
    assert _order_state(order) == before
    assert _ledger() == ledger


def test_who_may_cancel_from_the_order_page(login: Callable[[User], Client], order: Order) -> None:
    viewer = User.objects.create_user("viewer", password="pw", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_order"))
    client = login(viewer)
    before = _order_state(order)

    page = client.get(admin_url("change", order))
    question = client.get(_cancel_url(order))
    answered = client.post(_cancel_url(order), {"post": "yes"})

    assert page.status_code == 200
    assert f'href="{_cancel_url(order)}"' not in page.content.decode()
    assert (question.status_code, answered.status_code) == (403, 403)
    assert _order_state(order) == before


# Recording a return in the admin


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
