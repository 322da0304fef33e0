"""Stock at several locations under real concurrency (PostgreSQL, threads released together by
a barrier): buyers at a store race staff changing the same variant there, orders never borrow
another location's stock, multi-line orders at several locations never deadlock, and a fulfil
racing a cancel moves the stock once."""

import functools
import random
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.db import transaction

from catalog.models import Variant
from catalog.tests.support import race
from core.actors import Actor
from core.api.authentication import api_key_actor
from core.api.models import Scope
from core.api.services import api_key_create
from orders.exceptions import InvalidTransition
from orders.models import Order, OrderStatus
from orders.services import LineRequest, order_place, order_transition
from stock.exceptions import InsufficientStock
from stock.models import Location, LocationKind, MovementReason, StockLevel, StockMovement
from stock.selectors import location_default
from stock.services import stock_adjust, stock_count
from stock.tests.concurrency_support import ACTOR, Outcome, _unexpected

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

BUYERS = 50
STORE_UNITS = 10
MAIN_UNITS = 20
STAFF_ROUNDS = 5


@pytest.fixture(autouse=True)
def _ledger_reconciles_after_each_test(transactional_db: None) -> Iterator[None]:
    yield
    # Raises CommandError, failing the test, on any drift or committed units no order holds.
    call_command("reconcile_stock", stdout=StringIO(), stderr=StringIO())


@pytest.fixture
def store() -> Location:
    return Location.objects.create(code="STORE-01", name="Store 01", kind=LocationKind.STORE)


@pytest.fixture
def shop() -> Actor:
    api_key, _ = api_key_create(name="web-shop", scopes=[Scope.ORDERS_WRITE])
    return api_key_actor(api_key)


def _receive(variant_id: int, units: int, location: Location) -> None:
    stock_adjust(
        variant_id=variant_id, delta=units, reason="received", actor=ACTOR, location=location
    )


def _place(
    actor: Actor, location: Location, lines: Sequence[tuple[int, int]], reference: str = ""
) -> Order:
    return order_place(
        lines=[LineRequest(variant_id=variant_id, quantity=qty) for variant_id, qty in lines],
        actor=actor,
        location=location,
        customer_reference=reference,
    )


def _levels(variant_ids: Sequence[int]) -> dict[tuple[int, str], tuple[int, int]]:
    """(on hand, committed) by (variant, location code)."""
    rows = StockLevel.objects.filter(variant_id__in=variant_ids).values_list(
        "variant_id", "location__code", "on_hand", "committed"
    )
    return {(v, code): (on_hand, committed) for v, code, on_hand, committed in rows}


def _totals(variant_ids: Sequence[int]) -> dict[int, tuple[int, int]]:
    """(available, committed) by variant: its cached totals over every location."""
    rows = Variant.objects.filter(pk__in=variant_ids).values_list("pk", "quantity", "committed")
    return {pk: (quantity, committed) for pk, quantity, committed in rows}


def _until_done(workers: Sequence[Callable[[], Outcome]]) -> tuple[list[Any], threading.Event]:
    """The workers, each setting the event when it is the last to finish (so that observers
    racing them know when to stop), and the event."""
    done = threading.Event()
    remaining = [len(workers)]
    lock = threading.Lock()

    def finishing(work: Callable[[], Outcome]) -> Outcome:
        try:
            return work()
        finally:
            with lock:
                remaining[0] -= 1
                if not remaining[0]:
                    done.set()

    return [functools.partial(finishing, work) for work in workers], done


@pytest.mark.slow  # fifty-odd database connections at once
def test_fifty_buyers_at_a_store_racing_staff_get_exactly_its_ten_units(
    make_product, store, shop, request
) -> None:
    # Given a variant with 20 units at MAIN and 10 at STORE-01
    variant = make_product(stock={"S-M": MAIN_UNITS}).variants.get()
    _receive(variant.pk, STORE_UNITS, store)
    sku = variant.sku

    def buy(n: int) -> Outcome:
        return _place(shop, store, [(variant.pk, 1)], f"buyer-{n}")

    def delivery_with_damage() -> list[Outcome]:
        # A delivery at the store with units found damaged on unpacking, booked together:
        # the store's on hand is unchanged once it commits, and no buyer saw the units between.
        outcomes: list[Outcome] = []
        for _ in range(STAFF_ROUNDS):
            with transaction.atomic():
                _receive(variant.pk, 2, store)
                outcomes.append(
                    stock_adjust(
                        variant_id=variant.pk,
                        delta=-2,
                        reason="damaged",
                        actor=ACTOR,
                        location=store,
                    )
                )
        return outcomes

    def shelf_count(expecting: bool) -> list[Outcome]:
        # Counting what is on the store's shelf: with compare-and-set on what was on hand when
        # the count started, or plainly; committed units are on the shelf, so both find 10.
        outcomes: list[Outcome] = []
        for _ in range(STAFF_ROUNDS):
            on_hand = StockLevel.objects.get(variant=variant, location=store).on_hand
            outcomes.append(
                stock_count(
                    variant_id=variant.pk,
                    quantity=on_hand,
                    expected_quantity=on_hand if expecting else None,
                    actor=ACTOR,
                    location=store,
                )
            )
        return outcomes

    busy, done = _until_done(
        [
            *(functools.partial(buy, n) for n in range(BUYERS)),
            delivery_with_damage,
            delivery_with_damage,
            functools.partial(shelf_count, True),
            functools.partial(shelf_count, False),
        ]
    )
    level = StockLevel.objects.filter(variant=variant, location=store).values_list(
        "on_hand", "committed", "variant__quantity", "variant__committed"
    )

    def watch() -> list[tuple[int, int, int, int]]:
        # The store's level and the variant's totals, read together, as often as it can.
        samples = []
        while not done.is_set():
            samples.append(level.get())
        return samples

    def audit() -> int:
        # reconcile_stock on a shop selling: it reads one snapshot, so it never sees a level
        # and the open orders at different moments (it raises on any difference).
        runs = 0
        while not done.is_set():
            call_command("reconcile_stock", stdout=StringIO(), stderr=StringIO())
            runs += 1
        return runs

    # When the fifty buyers, two clerks booking deliveries, two counting, a watcher and an
    # auditor all start at once
    started = time.monotonic()
    outcomes = race([*busy, watch, audit])
    request.node.user_properties.append(("seconds", round(time.monotonic() - started, 2)))
    *buyers, deliveries_a, deliveries_b, counts_a, counts_b, samples, audits = outcomes

    # Then exactly ten buyers got a unit, the forty others were told the store has none left
    # (whatever MAIN holds)
    assert not _unexpected(buyers, InsufficientStock)
    placed = [o for o in buyers if isinstance(o, Order)]
    refused = [o for o in buyers if isinstance(o, InsufficientStock)]
    assert (len(placed), len(refused)) == (STORE_UNITS, BUYERS - STORE_UNITS)
    short = {
        "location": "STORE-01",
        "lines": [
            {
                "variant": variant.pk,
                "sku": sku,
                "location": "STORE-01",
                "requested": 1,
                "available": 0,
            }
        ],
    }
    assert all(error.details == short for error in refused)
    assert all(
        error.message == "Not enough stock at STORE-01; nothing was changed." for error in refused
    )
    # and every clerk's change went through
    staff = [*deliveries_a, *deliveries_b, *counts_a, *counts_b]
    assert not _unexpected(staff), staff
    assert len(staff) == 4 * STAFF_ROUNDS
    # and at every moment the watcher saw, 0 <= committed <= on hand (10) at the store,
    # committed only grew, and the variant's totals were the levels' (MAIN has 20, none committed)
    assert not isinstance(samples, Exception), samples
    assert not isinstance(audits, Exception), audits
    assert samples, "the watcher saw nothing"
    for on_hand, committed, available, total_committed in samples:
        assert 0 <= committed <= on_hand == STORE_UNITS
        assert (available, total_committed) == (MAIN_UNITS + on_hand - committed, committed)
    assert [s[1] for s in samples] == sorted(s[1] for s in samples)
    request.node.user_properties.append(("samples", len(samples)))
    request.node.user_properties.append(
        ("samples mid-race", len([s for s in samples if 0 < s[1] < STORE_UNITS]))
    )
    request.node.user_properties.append(("audits", audits))

    # and the store's ten units are committed to the ten orders, MAIN untouched
    assert _levels([variant.pk]) == {
        (variant.pk, "MAIN"): (MAIN_UNITS, 0),
        (variant.pk, "STORE-01"): (STORE_UNITS, STORE_UNITS),
    }
    assert _totals([variant.pk]) == {variant.pk: (MAIN_UNITS, STORE_UNITS)}
    assert sorted(Order.objects.values_list("pk", "location__code", "status")) == sorted(
        (o.pk, "STORE-01", OrderStatus.PLACED) for o in placed
    )
    # each by one order_placed movement at the store, committed running 1 to 10
    commits = StockMovement.objects.filter(reason=MovementReason.ORDER_PLACED).order_by("id")
    assert sorted(
        commits.values_list("reference", "location__code", "delta", "committed_delta")
    ) == sorted((o.number, "STORE-01", 0, 1) for o in placed)
    assert list(commits.values_list("committed_after", flat=True)) == list(range(1, 11))
    # and the clerks' movements are all at the store, none at MAIN after its opening
    assert Counter(
        StockMovement.objects.values_list("location__code", "reason", "delta", "committed_delta")
    ) == {
        ("MAIN", MovementReason.INITIAL, MAIN_UNITS, 0): 1,
        ("STORE-01", MovementReason.RECEIVED, STORE_UNITS, 0): 1,
        ("STORE-01", MovementReason.RECEIVED, 2, 0): 2 * STAFF_ROUNDS,
        ("STORE-01", MovementReason.DAMAGED, -2, 0): 2 * STAFF_ROUNDS,
        ("STORE-01", MovementReason.COUNT_CORRECTION, 0, 0): 2 * STAFF_ROUNDS,
        ("STORE-01", MovementReason.ORDER_PLACED, 0, 1): STORE_UNITS,
    }
    # and the ledger reconciles, open orders included
    out = StringIO()
    call_command("reconcile_stock", stdout=out, stderr=StringIO())
    assert out.getvalue() == (
        "OK: 1 variant(s) at 2 stock level(s), every quantity equals its ledger.\n"
    )


def test_orders_at_a_store_with_nothing_available_there_never_take_mains_stock(
    make_product, store, shop
) -> None:
    # Given two variants with 20 each at MAIN: one never stocked at STORE-01, the other's 2
    # units there committed to an open order
    product = make_product(stock={"S-M": MAIN_UNITS, "L-XL": MAIN_UNITS})
    never, held = product.variants.order_by("pk").values_list("pk", flat=True)
    _receive(held, 2, store)
    _place(shop, store, [(held, 2)], "first")
    variant_ids = [never, held]
    before = (
        list(
            Variant.objects.order_by("pk").values_list("pk", "quantity", "committed", "updated_at")
        ),
        list(StockLevel.objects.order_by("pk").values()),
        list(StockMovement.objects.order_by("pk").values_list("pk", flat=True)),
        list(Order.objects.order_by("pk").values_list("pk", "status")),
    )

    # When ten customers order one of each at the store at the same moment
    outcomes = race(
        [
            functools.partial(_place, shop, store, [(never, 1), (held, 1)], f"buyer-{n}")
            for n in range(10)
        ]
    )

    # Then each is refused, naming both lines at the store (MAIN's 20 are not offered)
    assert not _unexpected(outcomes, InsufficientStock)
    skus = dict(Variant.objects.values_list("pk", "sku"))
    assert all(
        error.details
        == {
            "location": "STORE-01",
            "lines": [
                {
                    "variant": v,
                    "sku": skus[v],
                    "location": "STORE-01",
                    "requested": 1,
                    "available": 0,
                }
                for v in variant_ids
            ],
        }
        for error in outcomes
    ), outcomes
    # and nothing changed anywhere: no variant, level, movement or order
    assert (
        list(
            Variant.objects.order_by("pk").values_list("pk", "quantity", "committed", "updated_at")
        ),
        list(StockLevel.objects.order_by("pk").values()),
        list(StockMovement.objects.order_by("pk").values_list("pk", flat=True)),
        list(Order.objects.order_by("pk").values_list("pk", "status")),
    ) == before
    assert _levels(variant_ids) == {
        (never, "MAIN"): (MAIN_UNITS, 0),
        (held, "MAIN"): (MAIN_UNITS, 0),
        (held, "STORE-01"): (2, 2),
    }


# Overlapping sets of three variants (by index), each also in the reverse order.
_LINE_ORDERS = [(0, 1), (1, 0), (1, 2), (2, 1), (0, 2), (2, 0), (0, 1, 2), (2, 1, 0)]
ORDERING_THREADS = 20
ORDERS_PER_THREAD = 3


def test_multi_line_orders_in_opposite_orders_at_several_locations_never_deadlock(
    make_product, store, shop
) -> None:
    # Given three variants with 100 units each at MAIN and at STORE-01 (enough for everyone)
    product = make_product(stock={"S-M": 100, "L-XL": 100, "One Size": 100})
    variant_ids = list(product.variants.order_by("pk").values_list("pk", flat=True))
    for variant_id in variant_ids:
        _receive(variant_id, 100, store)
    main = location_default()
    locations = [main, store]

    # and twenty threads placing three orders each, alternating between the locations, their
    # lines listed (A, B) by some and (B, A) by others; each fulfils its first order
    rng = random.Random("opposite-orders")  # noqa: S311  # seeded test data
    plans = [
        [
            (
                locations[(n + k) % 2],
                [(variant_ids[index], rng.randint(1, 2)) for index in rng.choice(_LINE_ORDERS)],
            )
            for k in range(ORDERS_PER_THREAD)
        ]
        for n in range(ORDERING_THREADS)
    ]

    def shopper(n: int, plan: list[tuple[Location, list[tuple[int, int]]]]) -> list[Order]:
        orders = [
            _place(shop, location, lines, f"t{n}-{k}") for k, (location, lines) in enumerate(plan)
        ]
        for action in ("pay", "fulfil"):
            order_transition(order_id=orders[0].pk, action=action, actor=shop)
        return orders

    # When they all run at once
    outcomes = race([functools.partial(shopper, n, plan) for n, plan in enumerate(plans)])

    # Then every thread completed: no deadlock, no refusal, no error at all
    assert not _unexpected(outcomes), [o for o in outcomes if isinstance(o, Exception)]
    assert Order.objects.count() == ORDERING_THREADS * ORDERS_PER_THREAD
    # and each location's levels are its opening less what was fulfilled there, with what is
    # still open committed
    taken: defaultdict[tuple[int, str], int] = defaultdict(int)
    held: defaultdict[tuple[int, str], int] = defaultdict(int)
    for plan in plans:
        for k, (location, lines) in enumerate(plan):
            for variant_id, qty in lines:
                (taken if k == 0 else held)[(variant_id, location.code)] += qty
    assert _levels(variant_ids) == {
        (v, code): (100 - taken[(v, code)], held[(v, code)])
        for v in variant_ids
        for code in ("MAIN", "STORE-01")
    }
    assert _totals(variant_ids) == {
        v: (
            200 - sum(taken[(v, c)] + held[(v, c)] for c in ("MAIN", "STORE-01")),
            held[(v, "MAIN")] + held[(v, "STORE-01")],
        )
        for v in variant_ids
    }
    assert Counter(Order.objects.values_list("status", flat=True)) == {
        OrderStatus.FULFILLED: ORDERING_THREADS,
        OrderStatus.PLACED: ORDERING_THREADS * (ORDERS_PER_THREAD - 1),
    }


RACED_ORDERS = 8


def test_a_fulfil_racing_a_cancel_of_a_paid_order_moves_its_stock_once(
    make_product, store, shop
) -> None:
    # Given eight paid orders at STORE-01, each of two lines
    product = make_product(stock={"S-M": 0, "L-XL": 0})
    a, b = product.variants.order_by("pk").values_list("pk", flat=True)
    _receive(a, 30, store)
    _receive(b, 30, store)
    orders = [
        _place(shop, store, [(a, 2), (b, 1)] if n % 2 else [(b, 1), (a, 2)], f"raced-{n}")
        for n in range(RACED_ORDERS)
    ]
    for order in orders:
        order_transition(order_id=order.pk, action="pay", actor=shop)

    # When each is fulfilled and cancelled at the same moment
    calls = [(order, action) for order in orders for action in ("fulfil", "cancel")]
    outcomes = race(
        [
            functools.partial(order_transition, order_id=order.pk, action=action, actor=shop)
            for order, action in calls
        ]
    )

    # Then for each order exactly one won; the other was told the order is in the winner's
    # status already
    assert not _unexpected(outcomes, InvalidTransition)
    winners: dict[int, str] = {}
    for (order, _), outcome in zip(calls, outcomes, strict=True):
        if isinstance(outcome, Order):
            assert order.pk not in winners, f"{order.number} moved twice"
            winners[order.pk] = outcome.status
    assert len(winners) == RACED_ORDERS
    for (order, action), outcome in zip(calls, outcomes, strict=True):
        if isinstance(outcome, InvalidTransition):
            assert outcome.details == {"status": winners[order.pk], "action": action}
    assert dict(Order.objects.values_list("pk", "status")) == winners
    # and the stock moved once per order line: taken off the shelf, or released
    fulfilled = {o.number for o in orders if winners[o.pk] == OrderStatus.FULFILLED}
    expected = sorted(
        (o.number, v, MovementReason.SALE, -qty, -qty)
        if o.number in fulfilled
        else (o.number, v, MovementReason.ORDER_CANCELLED, 0, -qty)
        for o in orders
        for v, qty in [(a, 2), (b, 1)]
    )
    assert (
        sorted(
            StockMovement.objects.filter(
                reason__in=[MovementReason.SALE, MovementReason.ORDER_CANCELLED]
            ).values_list("reference", "variant_id", "reason", "delta", "committed_delta")
        )
        == expected
    )
    sold = len(fulfilled)
    assert _levels([a, b]) == {(a, "STORE-01"): (30 - 2 * sold, 0), (b, "STORE-01"): (30 - sold, 0)}
    assert _totals([a, b]) == {a: (30 - 2 * sold, 0), b: (30 - sold, 0)}
