"""Transfers under real concurrency (PostgreSQL, threads released together by a barrier):
orders at the source racing a transfer shipping from it, transfers crossing in opposite
directions, and racing ships, receipts and cancels of one transfer, which act once. After
each test, ``reconcile_stock`` proves every level, the units in transit and the conservation
of units."""

import functools
from collections.abc import Iterator, Sequence
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from catalog.tests.support import race
from core.actors import Actor
from core.api.authentication import api_key_actor
from core.api.idempotency import REPLAYED_HEADER
from core.api.models import Scope
from core.api.services import api_key_create
from orders.models import Order
from orders.services import LineRequest, order_place
from stock.exceptions import InsufficientStock, InvalidTransferLines, InvalidTransition
from stock.locations import location_update
from stock.models import (
    Location,
    LocationKind,
    MovementReason,
    StockLevel,
    StockMovement,
    Transfer,
    TransferStatus,
)
from stock.selectors import location_default
from stock.services import stock_adjust
from stock.tests.concurrency_support import ACTOR, _unexpected
from stock.transfers import (
    ReceiptLine,
    TransferLineRequest,
    transfer_cancel,
    transfer_create,
    transfer_receive,
    transfer_ship,
)

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

BUYERS = 12
ROUNDS = 4
RACERS = 5
TRANSFER_MOVEMENTS = (
    MovementReason.TRANSFER_OUT,
    MovementReason.TRANSFER_IN,
    MovementReason.TRANSFER_CANCELLED,
)


@pytest.fixture(autouse=True)
def _ledger_reconciles_after_each_test(transactional_db: None) -> Iterator[None]:
    yield
    # Raises CommandError, failing the test, on any drift, any incoming units no transfer
    # carries, or any transfer whose movements make or lose units.
    call_command("reconcile_stock", stdout=StringIO(), stderr=StringIO())


@pytest.fixture
def store() -> Location:
    return Location.objects.create(code="STORE-01", name="Store 01", kind=LocationKind.STORE)


@pytest.fixture
def shop() -> Actor:
    api_key, _ = api_key_create(name="web-shop", scopes=[Scope.ORDERS_WRITE])
    return api_key_actor(api_key)


def _variants(make_product: Any, units: int) -> list[int]:
    product = make_product(stock={"S-M": units, "L-XL": units, "One Size": units})
    return list(product.variants.order_by("pk").values_list("pk", flat=True))


def _draft(source: Location, destination: Location, lines: Sequence[tuple[int, int]]) -> Transfer:
    return transfer_create(
        from_location=source,
        to_location=destination,
        lines=[TransferLineRequest(variant_id=v, quantity=q) for v, q in lines],
        actor=ACTOR,
    )


def _level(variant_id: int, location: Location) -> tuple[int, int, int]:
    level = StockLevel.objects.filter(variant_id=variant_id, location=location).first()
    return (level.on_hand, level.committed, level.incoming) if level else (0, 0, 0)


def _place(actor: Actor, location: Location, lines: Sequence[tuple[int, int]]) -> Order:
    return order_place(
        lines=[LineRequest(variant_id=v, quantity=q) for v, q in lines],
        actor=actor,
        location=location,
    )


def test_orders_at_the_source_and_a_transfer_shipping_from_it_never_oversell(
    make_product, store, shop
) -> None:
    main = location_default()
    for round_ in range(ROUNDS):
        # Given 10 units of each of three sizes at MAIN, and a draft taking 6, 4 and 5 of them
        small, large, one = _variants(make_product, 10)
        transfer = _draft(main, store, [(small, 6), (large, 4), (one, 5)])
        # and buyers each taking one of two sizes, their lines in either order
        pairs = [(small, large), (large, small), (one, small), (large, one)]
        plans = [pairs[n % len(pairs)] for n in range(BUYERS)]

        # When the transfer ships while the buyers order at MAIN
        outcomes = race(
            [functools.partial(transfer_ship, transfer_id=transfer.pk, actor=ACTOR)]
            + [
                functools.partial(_place, shop, main, [(first, 1), (second, 1)])
                for first, second in plans
            ]
        )

        # Then nothing failed but for want of stock (no deadlock, no error)
        assert not _unexpected(outcomes, InsufficientStock), (round_, outcomes)
        shipped = not isinstance(outcomes[0], Exception)
        placed = [
            plan
            for plan, outcome in zip(plans, outcomes[1:], strict=True)
            if isinstance(outcome, Order)
        ]
        ordered = {v: sum(plan.count(v) for plan in placed) for v in (small, large, one)}
        sent = {small: 6, large: 4, one: 5} if shipped else dict.fromkeys((small, large, one), 0)
        for variant_id in (small, large, one):
            on_hand, committed, _ = _level(variant_id, main)
            # every order holds its units on MAIN's shelf, the transfer took only the rest
            assert (on_hand, committed) == (10 - sent[variant_id], ordered[variant_id])
            assert committed <= on_hand
            assert _level(variant_id, store) == (0, 0, sent[variant_id])
        # all or nothing: the transfer moved every line or none, each order both lines or none
        moved = StockMovement.objects.filter(reference=transfer.number)
        assert moved.count() == (6 if shipped else 0)
        transfer.refresh_from_db()
        assert transfer.status == (TransferStatus.IN_TRANSIT if shipped else TransferStatus.DRAFT)
        assert Order.objects.filter(
            lines__variant_id__in=[small, large, one]
        ).distinct().count() == len(placed)
        assert all(order.lines.count() == 2 for order in Order.objects.all())


def test_transfers_crossing_in_opposite_directions_with_orders_at_both_ends_never_deadlock(
    make_product, store, shop
) -> None:
    # Given 20 units of three sizes at MAIN and at STORE-01
    main = location_default()
    variants = _variants(make_product, 20)
    for variant_id in variants:
        stock_adjust(
            variant_id=variant_id, delta=20, reason="received", actor=ACTOR, location=store
        )
    # and transfers both ways, each naming the sizes in its own order
    orders = [variants, variants[::-1], variants[1:] + variants[:1]]
    drafts = [
        _draft(source, destination, [(v, 2) for v in order])
        for source, destination in ((main, store), (store, main))
        for order in orders
    ]

    # When they all ship and receive while buyers order at both ends
    def ship_and_receive(transfer: Transfer) -> Transfer:
        transfer_ship(transfer_id=transfer.pk, actor=ACTOR)
        lines = [ReceiptLine(line.pk, line.quantity) for line in transfer.lines.all()]
        return transfer_receive(transfer_id=transfer.pk, lines=lines, actor=ACTOR)

    outcomes = race(
        [functools.partial(ship_and_receive, transfer) for transfer in drafts]
        + [
            functools.partial(_place, shop, location, [(v, 1) for v in order])
            for location in (main, store)
            for order in orders
        ]
    )

    # Then everything happened: no deadlock, no refusal
    assert not _unexpected(outcomes), outcomes
    assert all(not isinstance(outcome, Exception) for outcome in outcomes), outcomes
    assert set(Transfer.objects.values_list("status", flat=True)) == {TransferStatus.RECEIVED}
    for variant_id in variants:
        # 3 transfers of 2 each way, 3 orders of 1 at each end
        assert _level(variant_id, main) == (20, 3, 0)
        assert _level(variant_id, store) == (20, 3, 0)


def _acts_once(outcomes: list[Any], *refusals: type[Exception]) -> Any:
    assert not _unexpected(outcomes, *refusals), outcomes
    done = [outcome for outcome in outcomes if not isinstance(outcome, Exception)]
    assert len(done) == 1, outcomes
    return done[0]


def test_racing_ships_of_one_transfer_ship_it_once(make_product, store) -> None:
    main = location_default()
    small, large, _ = _variants(make_product, 5)
    transfer = _draft(main, store, [(small, 3), (large, 5)])

    outcomes = race(
        [
            functools.partial(transfer_ship, transfer_id=transfer.pk, actor=ACTOR)
            for _ in range(RACERS)
        ]
    )

    _acts_once(outcomes, InvalidTransition)
    assert StockMovement.objects.filter(reason=MovementReason.TRANSFER_OUT).count() == 4
    assert (_level(small, main), _level(small, store)) == ((2, 0, 0), (0, 0, 3))
    assert (_level(large, main), _level(large, store)) == ((0, 0, 0), (0, 0, 5))


def test_racing_receipts_of_every_unit_receive_them_once(make_product, store) -> None:
    main = location_default()
    small, large, _ = _variants(make_product, 5)
    transfer = _draft(main, store, [(small, 3), (large, 2)])
    transfer_ship(transfer_id=transfer.pk, actor=ACTOR)
    lines = [ReceiptLine(line.pk, line.quantity) for line in transfer.lines.all()]

    outcomes = race(
        [
            functools.partial(transfer_receive, transfer_id=transfer.pk, lines=lines, actor=ACTOR)
            for _ in range(RACERS)
        ]
    )

    received = _acts_once(outcomes, InvalidTransition)
    assert received.status == TransferStatus.RECEIVED
    assert StockMovement.objects.filter(reason=MovementReason.TRANSFER_IN).count() == 2
    assert (_level(small, store), _level(large, store)) == ((3, 0, 0), (2, 0, 0))


def test_racing_partial_receipts_never_receive_more_than_was_shipped(make_product, store) -> None:
    main = location_default()
    [small, *_] = _variants(make_product, 5)
    transfer = _draft(main, store, [(small, 3)])
    transfer_ship(transfer_id=transfer.pk, actor=ACTOR)
    [line] = transfer.lines.all()

    # Five receipts of one unit each, for three units in transit
    outcomes = race(
        [
            functools.partial(
                transfer_receive,
                transfer_id=transfer.pk,
                lines=[ReceiptLine(line.pk, 1)],
                actor=ACTOR,
            )
            for _ in range(RACERS)
        ]
    )

    assert not _unexpected(outcomes, InvalidTransition, InvalidTransferLines), outcomes
    assert len([o for o in outcomes if not isinstance(o, Exception)]) == 3
    assert StockMovement.objects.filter(reason=MovementReason.TRANSFER_IN).count() == 3
    assert _level(small, store) == (3, 0, 0)
    transfer.refresh_from_db()
    assert transfer.status == TransferStatus.RECEIVED


def test_racing_cancels_put_the_units_back_once(make_product, store) -> None:
    main = location_default()
    small, large, _ = _variants(make_product, 5)
    transfer = _draft(main, store, [(small, 3), (large, 5)])
    transfer_ship(transfer_id=transfer.pk, actor=ACTOR)

    outcomes = race(
        [
            functools.partial(transfer_cancel, transfer_id=transfer.pk, actor=ACTOR)
            for _ in range(RACERS)
        ]
    )

    _acts_once(outcomes, InvalidTransition)
    assert StockMovement.objects.filter(reason=MovementReason.TRANSFER_CANCELLED).count() == 4
    assert (_level(small, main), _level(small, store)) == ((5, 0, 0), (0, 0, 0))
    assert (_level(large, main), _level(large, store)) == ((5, 0, 0), (0, 0, 0))


def test_a_receipt_racing_a_cancel_is_one_or_the_other(make_product, store) -> None:
    main = location_default()
    for _ in range(ROUNDS):
        [small, *_] = _variants(make_product, 5)
        transfer = _draft(main, store, [(small, 2)])
        transfer_ship(transfer_id=transfer.pk, actor=ACTOR)
        [line] = transfer.lines.all()

        receipt, cancel = race(
            [
                functools.partial(
                    transfer_receive,
                    transfer_id=transfer.pk,
                    lines=[ReceiptLine(line.pk, 1)],
                    actor=ACTOR,
                ),
                functools.partial(transfer_cancel, transfer_id=transfer.pk, actor=ACTOR),
            ]
        )

        # exactly one acted; the other was refused for the state the first left
        _acts_once([receipt, cancel], InvalidTransition)
        if isinstance(cancel, Exception):
            assert (_level(small, main), _level(small, store)) == ((3, 0, 0), (1, 0, 1))
        else:
            assert (_level(small, main), _level(small, store)) == ((5, 0, 0), (0, 0, 0))


def _ship_over_the_api(raw_key: str, transfer_id: int) -> tuple[int, str | None, Any]:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw_key}")
    response = client.post(
        f"/api/v1/transfers/{transfer_id}/ship/", {}, format="json", HTTP_IDEMPOTENCY_KEY="ship-9"
    )
    return response.status_code, response.headers.get(REPLAYED_HEADER), response.json()


def test_one_idempotency_key_shipping_from_five_threads_ships_once(make_product, store) -> None:
    main = location_default()
    small, large, _ = _variants(make_product, 5)
    transfer = _draft(main, store, [(small, 3), (large, 1)])
    _, raw_key = api_key_create(name="warehouse", scopes=[Scope.STOCK_WRITE])

    outcomes = race([functools.partial(_ship_over_the_api, raw_key, transfer.pk)] * RACERS)

    assert not _unexpected(outcomes), outcomes
    fresh = [o for o in outcomes if o[0] == 200 and o[1] is None]
    replayed = [o for o in outcomes if o[0] == 200 and o[1] == "true"]
    in_progress = [
        o for o in outcomes if o[0] == 409 and o[2]["error"]["code"] == "idempotency_in_progress"
    ]
    assert len(fresh) == 1, outcomes
    assert len(fresh) + len(replayed) + len(in_progress) == RACERS, outcomes
    [(_, _, answer)] = fresh
    assert answer["status"] == "in_transit"
    assert all(body == answer for _, _, body in replayed)
    # and a retry afterwards replays the first answer too
    assert _ship_over_the_api(raw_key, transfer.pk) == (200, "true", answer)
    assert StockMovement.objects.filter(reason__in=TRANSFER_MOVEMENTS).count() == 4
    assert _level(small, main) == (2, 0, 0)


def test_transfers_and_moves_of_the_default_location_never_deadlock(make_product, store):
    # Both orders of the two rows: a transfer each way between MAIN and the shop, while the
    # default moves to the shop and back. Each locks both rows in key order, whoever asks.
    main = location_default()
    variants = _variants(make_product, 20)
    stock_adjust(variant_id=variants[1], delta=5, reason="received", actor=ACTOR, location=store)
    for round_ in range(ROUNDS):
        there = _draft(main, store, [(variants[0], 1)])
        back = _draft(store, main, [(variants[1], 1)])
        target = store if round_ % 2 == 0 else main
        outcomes = race(
            [
                functools.partial(transfer_ship, transfer_id=there.pk, actor=ACTOR),
                functools.partial(transfer_ship, transfer_id=back.pk, actor=ACTOR),
                functools.partial(location_update, location=target, data={"is_default": True}),
            ]
        )
        assert not _unexpected(outcomes), (round_, outcomes)
        assert list(Location.objects.filter(is_default=True).values_list("code", flat=True)) == [
            target.code
        ]
        assert set(
            Transfer.objects.filter(pk__in=[there.pk, back.pk]).values_list("status", flat=True)
        ) == {TransferStatus.IN_TRANSIT}
