"""Cancels, retries and returns racing: a cancelled order is restocked once, a retried
request places one order, returns never exceed what was sold."""

import functools
from collections import Counter

import pytest

from catalog.tests.support import race
from core.api.models import IdempotencyKey
from orders.exceptions import InvalidTransition
from orders.models import Order, OrderLine, OrderReturn, OrderStatus
from orders.services import order_transition
from orders.tests.concurrency.support import (
    MakeProduct,
    _client_app,
    _movements,
    _place,
    _post,
    _quantities,
    _unexpected,
    _variant_ids,
)
from stock.models import MovementReason

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_eight_racing_cancels_of_one_order_restock_it_once(make_product: MakeProduct) -> None:
    # Given a placed order of two lines
    a, b = _variant_ids(make_product, S_M=5, L_XL=5)
    actor, _ = _client_app("web-shop")
    order = _place(actor, [(a, 2), (b, 1)])
    assert _quantities([a, b]) == {a: 3, b: 4}

    # When eight threads cancel it at the same moment
    outcomes = race(
        [
            functools.partial(order_transition, order_id=order.pk, action="cancel", actor=actor)
            for _ in range(8)
        ]
    )

    # Then one cancelled it and seven were told it is cancelled already
    assert not _unexpected(outcomes, InvalidTransition)
    assert len([o for o in outcomes if isinstance(o, Order)]) == 1
    refused = [o for o in outcomes if isinstance(o, InvalidTransition)]
    assert len(refused) == 7
    assert all(e.details == {"status": "cancelled", "action": "cancel"} for e in refused)
    # and the stock came back once: one order_cancelled movement per line, releasing what the
    # order committed (its units never left the shelf)
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED
    assert _movements(MovementReason.ORDER_CANCELLED, [a, b]) == sorted(
        [(order.number, a, 0, -2), (order.number, b, 0, -1)]
    )
    assert _quantities([a, b]) == {a: 5, b: 5}


def test_eight_racing_retries_with_one_idempotency_key_place_one_order(
    make_product: MakeProduct, request: pytest.FixtureRequest
) -> None:
    # Given a checkout of two lines, that the web shop retries from eight threads with one key
    a, b = _variant_ids(make_product, S_M=5, L_XL=5)
    _, raw_key = _client_app("web-shop")
    body = {"lines": [{"variant": a, "quantity": 2}, {"variant": b, "quantity": 1}]}

    # When the eight identical requests arrive at once
    outcomes = race(
        [
            functools.partial(_post, raw_key, "/api/v1/orders/", body, "checkout-42")
            for _ in range(8)
        ]
    )

    # Then one placed the order; each other one replayed its answer or was told to retry
    assert not _unexpected(outcomes)
    fresh = [o for o in outcomes if o[0] == 201 and o[1] is None]
    replayed = [o for o in outcomes if o[0] == 201 and o[1] == "true"]
    in_progress = [
        o for o in outcomes if o[0] == 409 and o[2]["error"]["code"] == "idempotency_in_progress"
    ]
    # Kept with the test's report, to see how the race went.
    request.node.user_properties.append(("fresh", len(fresh)))
    request.node.user_properties.append(("replayed", len(replayed)))
    request.node.user_properties.append(("in_progress", len(in_progress)))
    assert len(fresh) == 1, outcomes
    assert len(fresh) + len(replayed) + len(in_progress) == 8, outcomes
    [(_, _, answer)] = fresh
    assert all(replay == answer for _, _, replay in replayed)
    # and there is one order, with one set of commitments, and one stored key
    [order] = Order.objects.all()
    assert order.pk == answer["id"]
    assert _movements(MovementReason.ORDER_PLACED, [a, b]) == sorted(
        [(order.number, a, 0, 2), (order.number, b, 0, 1)]
    )
    assert _quantities([a, b]) == {a: 3, b: 4}
    assert list(IdempotencyKey.objects.values_list("key", "status_code")) == [("checkout-42", 201)]


@pytest.mark.parametrize(("each_returns", "succeed"), [(2, 1), (1, 3)])
def test_racing_returns_of_one_line_never_return_more_than_was_sold(
    make_product: MakeProduct, each_returns: int, succeed: int
) -> None:
    # Given a fulfilled order that sold 3 of a variant
    [variant_id] = _variant_ids(make_product, S_M=5)
    actor, raw_key = _client_app("web-shop")
    order = _place(actor, [(variant_id, 3)])
    for action in ("pay", "fulfil"):
        order_transition(order_id=order.pk, action=action, actor=actor)
    [line_id] = order.lines.values_list("pk", flat=True)
    body = {"lines": [{"line": line_id, "quantity": each_returns}]}

    # When six clerks record a return of the line at the same moment
    outcomes = race(
        [
            functools.partial(_post, raw_key, f"/api/v1/orders/{order.pk}/returns/", body)
            for _ in range(6)
        ]
    )

    # Then only as many went through as the 3 sold allow; the others were told how many remain
    assert not _unexpected(outcomes)
    assert Counter(status for status, _, _ in outcomes) == {201: succeed, 400: 6 - succeed}
    refusals = [answer["error"] for status, _, answer in outcomes if status == 400]
    # (on the quantity while some remain; on the line once it is returned in full)
    assert all(
        error["code"] == "validation_error"
        and list(error["details"]["lines"][0]) in (["quantity"], ["line"])
        for error in refusals
    ), refusals
    # and the line came back exactly that often, restocked once per return
    returned = succeed * each_returns
    assert OrderLine.objects.values_list("quantity", "returned_quantity").get(pk=line_id) == (
        3,
        returned,
    )
    assert OrderReturn.objects.filter(order=order).count() == succeed
    assert (
        _movements(MovementReason.RETURNED, [variant_id])
        == [(order.number, variant_id, each_returns, 0)] * succeed
    )
    assert _quantities([variant_id]) == {variant_id: 5 - 3 + returned}
