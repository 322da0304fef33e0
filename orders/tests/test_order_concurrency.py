"""Selling under real concurrency: PostgreSQL, threads released together by a barrier, and real
HTTP through gunicorn.

Whatever the interleaving: no variant is oversold, an order takes all of its stock or none and
concurrent orders never deadlock, a cancelled order is restocked once, a retried request places
one order, returns never exceed what was sold, and after every test each variant's quantity is
the sum of its movements (``reconcile_stock``, checked when each test ends).
"""

import functools
import json
import random
import threading
import time
import urllib.error
import urllib.request
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone
from rest_framework.test import APIClient

from catalog.models import Product, Variant
from catalog.tests.support import JOIN_TIMEOUT, race
from core.actors import Actor
from core.api.authentication import api_key_actor
from core.api.idempotency import REPLAYED_HEADER
from core.api.models import IdempotencyKey, Scope
from core.api.services import api_key_create
from inventory_project.tests import support as server_support
from orders.exceptions import InvalidTransition
from orders.models import Order, OrderLine, OrderReturn, OrderStatus
from orders.services import LineRequest, order_place, order_transition
from stock.exceptions import InsufficientStock
from stock.models import MovementReason, StockMovement

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

BUYERS = 50
UNITS = 10
# Sync workers serve one request each: more of them than cores keeps more requests inside the
# database at the same moment, which is the point of this race.
HTTP_WORKERS = 4
HTTP_TIMEOUT = 15

MakeProduct = Callable[..., Product]
Outcome = Any  # what a call returned, or the exception it raised
Answer = tuple[int, str | None, Any]  # status, Idempotent-Replayed header, JSON body


@pytest.fixture(autouse=True)
def _ledger_reconciles_after_each_test(transactional_db: None) -> Iterator[None]:
    yield
    # Raises CommandError, failing the test, if any quantity drifted from its movements.
    call_command("reconcile_stock", stdout=StringIO(), stderr=StringIO())


def _variant_ids(make_product: MakeProduct, **stock: int) -> list[int]:
    """Variants of one product with the given opening quantities (by size), in pk order."""
    sizes = {"S_M": "S-M", "L_XL": "L-XL", "ONE_SIZE": "One Size"}
    product = make_product(stock={sizes[size]: quantity for size, quantity in stock.items()})
    return list(product.variants.order_by("pk").values_list("pk", flat=True))


def _quantities(variant_ids: Iterable[int]) -> dict[int, int]:
    return dict(Variant.objects.filter(pk__in=variant_ids).values_list("pk", "quantity"))


def _client_app(name: str) -> tuple[Actor, str]:
    """A client app whose key may place orders: its actor and its raw key."""
    api_key, raw_key = api_key_create(name=name, scopes=[Scope.ORDERS_WRITE])
    return api_key_actor(api_key), raw_key


def _place(actor: Actor, lines: Sequence[tuple[int, int]], reference: str = "") -> Order:
    return order_place(
        lines=[LineRequest(variant_id=variant_id, quantity=qty) for variant_id, qty in lines],
        actor=actor,
        customer_reference=reference,
    )


def _unexpected(outcomes: Iterable[Outcome], *allowed: type[Exception]) -> list[Exception]:
    return [o for o in outcomes if isinstance(o, Exception) and not isinstance(o, allowed)]


def _movements(reason: str, variant_ids: Iterable[int]) -> list[tuple[str, int, int]]:
    """(reference, variant, delta) of the movements for ``reason``, sorted."""
    return sorted(
        StockMovement.objects.filter(variant_id__in=variant_ids, reason=reason).values_list(
            "reference", "variant_id", "delta"
        )
    )


def _api_client(raw_key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw_key}")
    return client


def _post(raw_key: str, path: str, body: dict[str, Any], idempotency_key: str = "") -> Answer:
    """POST with a client of its own (one per thread), as a client app would."""
    headers: dict[str, Any] = {"HTTP_IDEMPOTENCY_KEY": idempotency_key} if idempotency_key else {}
    response = _api_client(raw_key).post(path, body, format="json", **headers)
    return response.status_code, response.headers.get(REPLAYED_HEADER), response.json()


def _short(variant_id: int, requested: int, available: int) -> dict[str, Any]:
    sku = Variant.objects.values_list("sku", flat=True).get(pk=variant_id)
    return {"variant": variant_id, "sku": sku, "requested": requested, "available": available}


# The last units


@pytest.mark.slow  # fifty database connections at once
def test_fifty_buyers_of_ten_units_through_the_service_exactly_ten_get_one(
    make_product: MakeProduct,
) -> None:
    # Given ten units of a variant, and a web shop with fifty customers
    [variant_id] = _variant_ids(make_product, L_XL=UNITS)
    actor, _ = _client_app("web-shop")

    # When all fifty place an order for one unit at the same moment
    outcomes = race(
        [functools.partial(_place, actor, [(variant_id, 1)], f"buyer-{n}") for n in range(BUYERS)]
    )

    # Then ten orders were placed and forty told there is not enough, and nothing else happened
    assert not _unexpected(outcomes, InsufficientStock)
    placed = [o for o in outcomes if isinstance(o, Order)]
    refused = [o for o in outcomes if isinstance(o, InsufficientStock)]
    assert (len(placed), len(refused)) == (UNITS, BUYERS - UNITS)
    short = {"lines": [_short(variant_id, 1, 0)]}
    assert all(error.details == short for error in refused)
    # and exactly those ten orders exist, each with its line and its sale
    assert sorted(Order.objects.values_list("pk", flat=True)) == sorted(o.pk for o in placed)
    assert OrderLine.objects.filter(variant_id=variant_id, quantity=1).count() == UNITS
    assert _quantities([variant_id]) == {variant_id: 0}
    assert _movements(MovementReason.SALE, [variant_id]) == sorted(
        (order.number, variant_id, -1) for order in placed
    )


def _http_post(port: int, path: str, body: dict[str, Any], headers: dict[str, str]) -> Answer:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json", **headers},
    )
    try:
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT) as response:
            return (
                response.status,
                response.headers.get(REPLAYED_HEADER),
                json.loads(response.read()),
            )
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get(REPLAYED_HEADER), json.loads(error.read())


@pytest.fixture
def gunicorn(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The Docker image's gunicorn, with production settings, serving the test database."""
    monkeypatch.setenv("GUNICORN_WORKERS", str(HTTP_WORKERS))
    monkeypatch.setenv("GUNICORN_TIMEOUT", str(HTTP_TIMEOUT))
    # Typed here: the helpers come from a test module that mypy does not check strictly.
    start: Callable[[str], Any] = server_support.Server
    database_url: Callable[[], str] = server_support.database_url
    server = start(database_url())
    yield server
    server.stop()


@pytest.mark.slow
def test_fifty_buyers_of_ten_units_over_http_exactly_ten_get_one(
    make_product: MakeProduct, gunicorn: Any
) -> None:
    # Given ten units of a variant, and a web shop whose fifty customers check out over HTTP
    [variant_id] = _variant_ids(make_product, L_XL=UNITS)
    _, raw_key = _client_app("web-shop")
    body = {"lines": [{"variant": variant_id, "quantity": 1}]}

    # When all fifty POST their order at the same moment
    outcomes = race(
        [
            functools.partial(
                _http_post,
                gunicorn.port,
                "/api/v1/orders/",
                body,
                {"Authorization": f"Api-Key {raw_key}", "X-Request-ID": f"buyer-{n}"},
            )
            for n in range(BUYERS)
        ]
    )

    # Then ten got 201 and forty got 409 insufficient_stock in the envelope; no server error
    assert not _unexpected(outcomes)
    assert Counter(status for status, _, _ in outcomes) == {201: UNITS, 409: BUYERS - UNITS}
    created = [answer for status, _, answer in outcomes if status == 201]
    refused = [answer for status, _, answer in outcomes if status == 409]
    assert all(
        answer
        == {
            "error": {
                "code": "insufficient_stock",
                "message": "Not enough stock; nothing was changed.",
                "details": {"lines": [_short(variant_id, 1, 0)]},
            }
        }
        for answer in refused
    )
    assert all(
        (o["status"], [(line["variant"], line["quantity"]) for line in o["lines"]])
        == (OrderStatus.PLACED, [(variant_id, 1)])
        for o in created
    )
    # and exactly the ten orders answered exist, with one sale each, and the shelf is empty
    assert sorted(Order.objects.values_list("pk", flat=True)) == sorted(o["id"] for o in created)
    assert _quantities([variant_id]) == {variant_id: 0}
    assert _movements(MovementReason.SALE, [variant_id]) == sorted(
        (order["number"], variant_id, -1) for order in created
    )


# Multi-line orders in opposite line orders


# Overlapping sets of the three variants (by index), each also in the reverse order.
_LINE_ORDERS = [(0, 1), (1, 0), (1, 2), (2, 1), (0, 2), (2, 0), (0, 1, 2), (2, 1, 0)]
ORDERING_THREADS = 10
ORDERS_PER_THREAD = 6

Plan = list[tuple[str, list[tuple[int, int]]]]  # (customer reference, [(variant, quantity)])


def _order_plan(seed: str, variant_ids: Sequence[int]) -> Plan:
    rng = random.Random(seed)  # noqa: S311  # seeded test data, so a failing plan can be replayed
    return [
        (
            f"{seed}-{n}",
            [(variant_ids[index], rng.randint(1, 3)) for index in rng.choice(_LINE_ORDERS)],
        )
        for n in range(ORDERS_PER_THREAD)
    ]


def _place_all(actor: Actor, plan: Plan) -> list[Outcome]:
    """Place the planned orders one after the other; stop at the first error other than
    "not enough stock", so a broken service fails the test at once instead of piling up
    deadlocks that PostgreSQL takes a second each to break."""
    outcomes: list[Outcome] = []
    for reference, lines in plan:
        try:
            outcomes.append(_place(actor, lines, reference))
        except InsufficientStock as error:
            outcomes.append(error)
        except Exception as error:  # recorded: the test reports it
            outcomes.append(error)
            break
    return outcomes


def test_multi_line_orders_in_opposite_orders_never_deadlock_and_are_all_or_nothing(
    make_product: MakeProduct, request: pytest.FixtureRequest
) -> None:
    # Given three variants, and ten threads placing orders of two or three of them, listed as
    # (A, B) by some and (B, A) by others, asking for more than there is
    variant_ids = _variant_ids(make_product, S_M=45, L_XL=45, ONE_SIZE=45)
    opening = _quantities(variant_ids)
    actor, _ = _client_app("web-shop")
    plans = [_order_plan(f"t{n}", variant_ids) for n in range(ORDERING_THREADS)]

    # When they all order at once
    results = race([functools.partial(_place_all, actor, plan) for plan in plans])

    # Then nobody deadlocked or saw any error but "not enough stock"
    stopped = [r for r in results if isinstance(r, Exception) or _unexpected(r, InsufficientStock)]
    assert not stopped, stopped
    calls = [
        (reference, lines, outcome)
        for plan, outcomes in zip(plans, results, strict=True)
        for (reference, lines), outcome in zip(plan, outcomes, strict=True)
    ]
    placed = [(ref, lines, o) for ref, lines, o in calls if isinstance(o, Order)]
    refused = [(ref, lines, o) for ref, lines, o in calls if isinstance(o, InsufficientStock)]
    request.node.user_properties.append(("placed", len(placed)))
    request.node.user_properties.append(("refused", len(refused)))
    assert len(placed) + len(refused) == ORDERING_THREADS * ORDERS_PER_THREAD
    assert placed, "no order went through"
    assert refused, "nothing was refused: the test did not reach an empty shelf"
    # and some refused order had a line that was fine on its own, which it did not take either
    assert any(
        {v for v, _ in lines} - {line["variant"] for line in error.details["lines"]}
        for _, lines, error in refused
    ), "no refused order had a line that could have been filled"
    for _, lines, error in refused:
        requested = dict(lines)
        for line in error.details["lines"]:
            assert line["requested"] == requested[line["variant"]] > line["available"] >= 0

    # and a refused order left nothing: no order, no line, no movement
    assert sorted(Order.objects.values_list("customer_reference", flat=True)) == sorted(
        ref for ref, _, _ in placed
    )
    # while each placed order has exactly its lines, each with its sale
    for reference, lines, order in placed:
        stored = Order.objects.get(customer_reference=reference)
        assert stored.pk == order.pk
        assert sorted(stored.lines.values_list("variant_id", "quantity")) == sorted(lines)
    assert _movements(MovementReason.SALE, variant_ids) == sorted(
        (order.number, v, -qty) for _, lines, order in placed for v, qty in lines
    )
    # and the quantities are the openings less exactly what the placed orders took
    taken: defaultdict[int, int] = defaultdict(int)
    for _, lines, _ in placed:
        for v, qty in lines:
            taken[v] += qty
    assert _quantities(variant_ids) == {v: opening[v] - taken[v] for v in variant_ids}


# Cancels, retries and returns racing


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
    # and the stock came back once: one order_cancelled movement per line
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED
    assert _movements(MovementReason.ORDER_CANCELLED, [a, b]) == sorted(
        [(order.number, a, 2), (order.number, b, 1)]
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
    # and there is one order, with one set of sales, and one stored key
    [order] = Order.objects.all()
    assert order.pk == answer["id"]
    assert _movements(MovementReason.SALE, [a, b]) == sorted(
        [(order.number, a, -2), (order.number, b, -1)]
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
        == [(order.number, variant_id, each_returns)] * succeed
    )
    assert _quantities([variant_id]) == {variant_id: 5 - 3 + returned}


# The expiry racing with a payment


def _waited_on_by_another_transaction(deadline: float, done: threading.Event) -> None:
    """Return once another session waits for a lock this one holds (or ``done`` is set, or
    the deadline passes)."""
    while time.monotonic() < deadline and not done.is_set():
        with connection.cursor() as cursor:
            # pg_stat_activity is a snapshot per transaction unless cleared.
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE pg_backend_pid() = ANY(pg_blocking_pids(pid))"
            )
            [(waiting,)] = cursor.fetchall()
        if waiting:
            return
        time.sleep(0.01)


def test_an_order_paid_while_the_expiry_runs_ends_paid_or_cancelled_never_both(
    make_product: MakeProduct,
) -> None:
    # Given an order placed an hour ago and still unpaid
    a, b = _variant_ids(make_product, S_M=5, L_XL=5)
    actor, _ = _client_app("web-shop")
    order = _place(actor, [(a, 2), (b, 1)])
    Order.objects.filter(pk=order.pk).update(created_at=timezone.now() - timedelta(hours=1))
    paying, expired = threading.Event(), threading.Event()

    def pay() -> Order:
        # The payment is under way (its transaction open, the order locked) when the expiry
        # lists the unpaid orders, and commits while the expiry waits for the order's lock.
        with transaction.atomic():
            paid = order_transition(order_id=order.pk, action="pay", actor=actor)
            paying.set()
            _waited_on_by_another_transaction(time.monotonic() + JOIN_TIMEOUT / 2, expired)
        return paid

    def expire() -> str:
        paying.wait(JOIN_TIMEOUT / 2)
        out = StringIO()
        try:
            call_command("expire_orders", "--older-than", "30m", stdout=out)
        finally:
            expired.set()
        return out.getvalue()

    # When the customer pays while expire_orders runs
    paid, report = race([pay, expire])

    # Then the payment went through, and the order is paid, not cancelled as well
    assert not _unexpected([paid, report]), (paid, report)
    assert isinstance(paid, Order)
    order.refresh_from_db()
    assert (order.status, order.paid_at is not None, order.cancelled_at) == (
        OrderStatus.PAID,
        True,
        None,
    )
    assert order.number not in report
    # and its stock stays sold: nothing was given back
    assert _movements(MovementReason.ORDER_CANCELLED, [a, b]) == []
    assert _quantities([a, b]) == {a: 3, b: 4}
