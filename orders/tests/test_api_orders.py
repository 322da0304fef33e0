from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from catalog.services import product_update
from orders.models import Order, OrderLine, OrderReturn
from orders.services import MAX_LINES, parse_age
from stock.models import StockMovement

pytestmark = pytest.mark.django_db

ORDERS = "/api/v1/orders/"


def order_url(order_id, action=""):
    return f"{ORDERS}{order_id}/{action + '/' if action else ''}"


@pytest.fixture
def shop(key_client):
    """A client app (web shop) whose key may place orders."""
    return key_client("orders:write")


@pytest.fixture
def tee(make_product):
    return make_product(name="Tee", price="29.90", stock={"S-M": 5, "L-XL": 2})


def _variant(product, size):
    return product.variants.get(size=size)


def _quantity(variant):
    variant.refresh_from_db()
    return variant.quantity


def _place(client, *lines, **fields):
    return client.post(ORDERS, {"lines": list(lines), **fields}, format="json")


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
    assert (_quantity(small), _quantity(large)) == (3, 1)
    sales = StockMovement.objects.filter(reason="sale").order_by("variant_id")
    assert [(m.variant_id, m.delta, m.reference, m.actor_kind) for m in sales] == [
        (small.pk, -2, order.number, "api_key"),
        (large.pk, -1, order.number, "api_key"),
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
    assert sorted(
        response.json()["error"]["details"]["lines"], key=lambda line: line["variant"]
    ) == [
        {"variant": small.pk, "sku": small.sku, "requested": 6, "available": 5},
        {"variant": large.pk, "sku": large.sku, "requested": 3, "available": 2},
    ]
    assert (_quantity(small), _quantity(large), _quantity(other)) == (5, 2, 9)
    assert not Order.objects.exists()
    assert not OrderLine.objects.exists()
    assert not StockMovement.objects.filter(reason="sale").exists()


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


def test_staff_place_orders_in_their_own_name(manager_client, manager, tee):
    response = _place(manager_client, {"variant": _variant(tee, "S-M").pk, "quantity": 1})
    assert response.status_code == 201
    order = Order.objects.get()
    assert (order.user, order.api_key, order.placed_by) == (manager, None, "manager")


# The lifecycle


@pytest.fixture
def order(shop, tee):
    body = _place(
        shop,
        {"variant": _variant(tee, "S-M").pk, "quantity": 2},
        {"variant": _variant(tee, "L-XL").pk, "quantity": 1},
    ).json()
    return Order.objects.get(pk=body["id"])


def test_pay_then_fulfil(shop, order):
    paid = shop.post(order_url(order.pk, "pay"))
    fulfilled = shop.post(order_url(order.pk, "fulfil"))
    assert (paid.status_code, fulfilled.status_code) == (200, 200)
    assert paid.json()["status"] == "paid"
    assert paid.json()["paid_at"]
    assert fulfilled.json()["status"] == "fulfilled"
    assert fulfilled.json()["fulfilled_at"]


@pytest.mark.parametrize("paid_first", [False, True])
def test_cancel_restocks_every_line_once(shop, order, tee, paid_first):
    if paid_first:
        shop.post(order_url(order.pk, "pay"))
    response = shop.post(order_url(order.pk, "cancel"))
    again = shop.post(order_url(order.pk, "cancel"))
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "invalid_transition"
    assert (_quantity(_variant(tee, "S-M")), _quantity(_variant(tee, "L-XL"))) == (5, 2)
    restocks = StockMovement.objects.filter(reason="order_cancelled")
    assert sorted(restocks.values_list("delta", "reference")) == [
        (1, order.number),
        (2, order.number),
    ]


@pytest.mark.parametrize(
    ("steps", "action"),
    [
        ([], "fulfil"),
        (["cancel"], "pay"),
        (["cancel"], "fulfil"),
        (["pay", "fulfil"], "cancel"),
        (["pay", "fulfil"], "pay"),
        (["pay"], "pay"),
    ],
)
def test_any_other_transition_is_refused_and_changes_nothing(shop, order, steps, action):
    for step in steps:
        assert shop.post(order_url(order.pk, step)).status_code == 200
    before = (Order.objects.values().get(pk=order.pk), StockMovement.objects.count())
    response = shop.post(order_url(order.pk, action))
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "invalid_transition"
    assert (Order.objects.values().get(pk=order.pk), StockMovement.objects.count()) == before


# Returns


@pytest.fixture
def fulfilled(shop, order):
    shop.post(order_url(order.pk, "pay"))
    shop.post(order_url(order.pk, "fulfil"))
    return order


def test_return_part_of_an_order_then_the_rest(shop, fulfilled, tee):
    small_line = fulfilled.lines.get(size="S-M")
    product_update(product=tee, data={"price": Decimal("50.00")})

    first = shop.post(
        order_url(fulfilled.pk, "returns"),
        {"lines": [{"line": small_line.pk, "quantity": 1}]},
        format="json",
    )
    assert first.status_code == 201, first.json()
    body = first.json()
    assert body["lines"] == [
        {"line": small_line.pk, "sku": small_line.sku, "quantity": 1, "refund_amount": "29.90"}
    ]
    assert (body["refund_total"], body["currency"]) == ("29.90", "EUR")
    assert _quantity(_variant(tee, "S-M")) == 4

    rest = shop.post(
        order_url(fulfilled.pk, "returns"),
        {
            "lines": [
                {"line": small_line.pk, "quantity": 1},
                {"line": fulfilled.lines.get(size="L-XL").pk, "quantity": 1},
            ]
        },
        format="json",
    )
    assert rest.status_code == 201
    assert rest.json()["refund_total"] == "59.80"
    lines = shop.get(order_url(fulfilled.pk)).json()["lines"]
    assert [(line["quantity"], line["returned_quantity"]) for line in lines] == [(2, 2), (1, 1)]
    returned = StockMovement.objects.filter(reason="returned", reference=fulfilled.number)
    assert sorted(returned.values_list("delta", flat=True)) == [1, 1, 1]


def test_never_return_more_than_was_sold(shop, fulfilled):
    line = fulfilled.lines.get(size="S-M")
    shop.post(
        order_url(fulfilled.pk, "returns"),
        {"lines": [{"line": line.pk, "quantity": 1}]},
        format="json",
    )
    response = shop.post(
        order_url(fulfilled.pk, "returns"),
        {"lines": [{"line": line.pk, "quantity": 2}]},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["error"]["details"] == {
        "lines": [{"quantity": ["From 1 to 1: sold 2, returned 1 already."]}]
    }
    assert OrderReturn.objects.count() == 1


def test_returns_name_lines_of_this_order_once(shop, fulfilled, order):
    line = fulfilled.lines.get(size="S-M")
    response = shop.post(
        order_url(fulfilled.pk, "returns"),
        {
            "lines": [
                {"line": line.pk, "quantity": 1},
                {"line": line.pk, "quantity": 1},
                {"line": 999999, "quantity": 1},
            ]
        },
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["error"]["details"] == {
        "lines": [
            {"line": ["This line is given more than once."]},
            {"line": ["This line is given more than once."]},
            {"line": ["This order has no such line."]},
        ]
    }


def test_only_a_fulfilled_order_takes_returns(shop, order):
    line = order.lines.first()
    response = shop.post(
        order_url(order.pk, "returns"), {"lines": [{"line": line.pk, "quantity": 1}]}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "invalid_transition"


# Idempotency-Key


def test_a_retried_order_is_placed_once(shop, tee):
    body = {"lines": [{"variant": _variant(tee, "S-M").pk, "quantity": 1}]}
    first = shop.post(ORDERS, body, format="json", HTTP_IDEMPOTENCY_KEY="checkout-1")
    again = shop.post(ORDERS, body, format="json", HTTP_IDEMPOTENCY_KEY="checkout-1")
    other = shop.post(
        ORDERS,
        {"lines": [{"variant": _variant(tee, "S-M").pk, "quantity": 2}]},
        format="json",
        HTTP_IDEMPOTENCY_KEY="checkout-1",
    )
    assert (first.status_code, again.status_code, other.status_code) == (201, 201, 422)
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert Order.objects.count() == 1
    assert _quantity(_variant(tee, "S-M")) == 4


def test_actions_and_returns_replay_too(shop, order):
    for action in ("pay", "fulfil"):
        first = shop.post(order_url(order.pk, action), HTTP_IDEMPOTENCY_KEY=f"{action}-1")
        again = shop.post(order_url(order.pk, action), HTTP_IDEMPOTENCY_KEY=f"{action}-1")
        assert first.status_code == again.status_code == 200
        assert again["Idempotent-Replayed"] == "true"
    line = order.lines.get(size="S-M")
    body = {"lines": [{"line": line.pk, "quantity": 1}]}
    first = shop.post(
        order_url(order.pk, "returns"), body, format="json", HTTP_IDEMPOTENCY_KEY="r-1"
    )
    again = shop.post(
        order_url(order.pk, "returns"), body, format="json", HTTP_IDEMPOTENCY_KEY="r-1"
    )
    assert (first.status_code, again.status_code) == (201, 201)
    assert OrderReturn.objects.count() == 1
    line.refresh_from_db()
    assert line.returned_quantity == 1


# Who sees what


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


def test_list_filters_and_order(shop, tee):
    small = _variant(tee, "S-M")
    ids = [
        _place(shop, {"variant": small.pk, "quantity": 1}, customer_reference=ref).json()["id"]
        for ref in ("A", "B", "A")
    ]
    shop.post(order_url(ids[0], "cancel"))
    results = lambda **params: [o["id"] for o in shop.get(ORDERS, params).json()["results"]]  # noqa: E731
    assert results() == ids[::-1]
    assert results(status="cancelled") == [ids[0]]
    assert results(status=["placed", "cancelled"]) == ids[::-1]
    assert results(customer_reference="A") == [ids[2], ids[0]]
    newest = Order.objects.get(pk=ids[2]).created_at.isoformat()
    assert results(created_after=newest) == [ids[2]]
    assert results(created_before=newest) == [ids[1], ids[0]]
    assert shop.get(ORDERS, {"status": "lost"}).status_code == 400


def test_placing_an_order_costs_the_same_queries_for_any_number_of_lines(shop, make_product):
    products = [make_product(name=f"Tee {n}", stock={"S-M": 5}) for n in range(10)]
    variants = [_variant(p, "S-M") for p in products]

    def count(lines):
        with CaptureQueriesContext(connection) as queries:
            assert _place(shop, *lines).status_code == 201
        return len(queries)

    one = count([{"variant": variants[0].pk, "quantity": 1}])
    ten = count([{"variant": v.pk, "quantity": 1} for v in variants])
    # Key; variants, found and locked at once; order (in a savepoint: a clashing number is drawn
    # again); lines; one UPDATE and one INSERT of movements; the order's own savepoint here,
    # where the test's transaction encloses it. The answer is rendered from the rows written,
    # not read back.
    assert one == ten == 10


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


def test_order_list_queries_do_not_grow_with_the_page_size(shop, tee, django_assert_num_queries):
    small, large = _variant(tee, "S-M"), _variant(tee, "L-XL")
    for lines in ([small, large], [small, large], [small], [small], [small]):
        _place(shop, *[{"variant": variant.pk, "quantity": 1} for variant in lines])
    assert Order.objects.count() == 5
    with django_assert_num_queries(3):  # key, a page of orders, their lines
        shop.get(ORDERS, {"page_size": 2})
    with django_assert_num_queries(3):
        assert len(shop.get(ORDERS, {"page_size": 5}).json()["results"]) == 5


@pytest.mark.parametrize(
    ("text", "seconds"), [("45s", 45), ("30m", 1800), ("2h", 7200), ("1d", 86400), ("30M", 1800)]
)
def test_ages_for_expire_orders(text, seconds):
    assert parse_age(text).total_seconds() == seconds


@pytest.mark.parametrize("text", ["0m", "m", "30", "30x", "-5m", "1.5h", ""])
def test_bad_ages_are_refused(text):
    with pytest.raises(ValueError, match="not an age"):
        parse_age(text)


def test_an_order_whose_total_does_not_fit_is_refused(shop, make_product):
    dear = make_product(name="Couture", price="99999999.99", stock={"S-M": 200})
    response = _place(shop, {"variant": _variant(dear, "S-M").pk, "quantity": 101})
    assert response.status_code == 400
    assert "exceeds 9999999999.99" in response.json()["error"]["details"]["lines"][0]
    assert not Order.objects.exists()
    assert _quantity(_variant(dear, "S-M")) == 200


def test_a_cancel_gives_stock_back_even_above_the_manual_ceiling(shop, make_product):
    from catalog.validators import MAX_QUANTITY
    from core.actors import system_actor
    from stock.services import stock_adjust

    bulk = _variant(make_product(name="Socks", stock={"S-M": MAX_QUANTITY}), "S-M")
    order_id = _place(shop, {"variant": bulk.pk, "quantity": 1}).json()["id"]
    stock_adjust(variant_id=bulk.pk, delta=1, reason="received", actor=system_actor("test"))
    response = shop.post(order_url(order_id, "cancel"))
    assert response.status_code == 200
    assert _quantity(bulk) == MAX_QUANTITY + 1


def test_a_line_returned_in_full_says_so(shop, fulfilled):
    line = fulfilled.lines.get(size="L-XL")
    body = {"lines": [{"line": line.pk, "quantity": 1}]}
    assert shop.post(order_url(fulfilled.pk, "returns"), body, format="json").status_code == 201
    response = shop.post(order_url(fulfilled.pk, "returns"), body, format="json")
    assert response.json()["error"]["details"] == {
        "lines": [{"line": ["This line was returned in full already."]}]
    }


def test_a_refund_is_the_unit_price_times_the_quantity(shop, fulfilled):
    line = fulfilled.lines.get(size="S-M")
    response = shop.post(
        order_url(fulfilled.pk, "returns"),
        {"lines": [{"line": line.pk, "quantity": 2}]},
        format="json",
    )
    assert response.json()["lines"][0]["refund_amount"] == "59.80"
    assert response.json()["refund_total"] == "59.80"


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


def test_a_retried_cancel_replays_and_a_changed_body_is_refused(shop, order, tee):
    first = shop.post(order_url(order.pk, "cancel"), HTTP_IDEMPOTENCY_KEY="c-1")
    again = shop.post(order_url(order.pk, "cancel"), HTTP_IDEMPOTENCY_KEY="c-1")
    changed = shop.post(
        order_url(order.pk, "cancel"), {"why": "x"}, format="json", HTTP_IDEMPOTENCY_KEY="c-1"
    )
    assert (first.status_code, again.status_code, changed.status_code) == (200, 200, 422)
    assert again["Idempotent-Replayed"] == "true"
    assert StockMovement.objects.filter(reason="order_cancelled").count() == 2


@pytest.mark.parametrize("zone", ["UTC", "Europe/Berlin"])
def test_the_hand_built_answer_is_the_serializers_in_every_state(shop, make_product, zone):
    from django.utils import timezone

    from orders.api.representations import order as represent
    from orders.api.serializers import OrderOutputSerializer
    from orders.selectors import order_list

    product = make_product(name="Tee", stock={"S-M": 9, "L-XL": 9})
    small, large = _variant(product, "S-M"), _variant(product, "L-XL")
    placed = [
        _place(
            shop,
            {"variant": small.pk, "quantity": 2},
            {"variant": large.pk, "quantity": 1},
            customer_reference="R-1",
            note="Gift wrap",
        ).json()["id"]
        for _ in range(4)
    ]
    shop.post(order_url(placed[1], "pay"))
    for step in ("pay", "fulfil"):
        shop.post(order_url(placed[2], step))
    line = OrderLine.objects.filter(order_id=placed[2]).order_by("id").first()
    returned = shop.post(
        order_url(placed[2], "returns"),
        {"lines": [{"line": line.pk, "quantity": 1}]},
        format="json",
    )
    assert returned.status_code == 201
    shop.post(order_url(placed[3], "cancel"))

    with timezone.override(zone):
        orders = list(order_list().filter(pk__in=placed))
        assert {o.status for o in orders} == {"placed", "paid", "fulfilled", "cancelled"}
        for order in orders:
            assert represent(order) == OrderOutputSerializer(order).data


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
