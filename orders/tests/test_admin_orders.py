"""Orders in the admin: every staff role sees orders with their lines; nothing about an order is
editable (money, status, lines), nothing is added or deleted; status changes only through the
actions, which call the order services, so a cancel here restocks through the ledger in the staff
user's name; returns are listed read-only."""

from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from io import StringIO
from typing import Any

import pytest
from django.contrib import messages
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from catalog.models import Product, StockMovement, Variant
from catalog.tests.support import admin_url
from inventory_project.actors import system_actor
from orders import services
from orders.admin import OrderAdmin
from orders.exceptions import InvalidTransition
from orders.models import Order, OrderReturn, OrderStatus
from orders.services import ReturnRequest
from orders.tests.conftest import PlaceOrder

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
    """Run a changelist action on ``orders``, as ticking them and pressing Go does, and follow
    the redirect back to the list, where the messages are shown."""
    response = client.post(
        ORDERS, {"action": action, "_selected_action": [order.pk for order in orders]}, follow=True
    )
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
