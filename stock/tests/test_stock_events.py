"""The stock's events, recorded with the change that causes them: a ``stock_level.updated`` per
level touched (one per burst, with the latest figures and a growing ``sequence``), the crossings
into low stock, out of stock and back in stock (at a location and over all of them), and a
transfer's shipping and receipt."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from conftest import TEST_ACTOR
from events.models import Event
from events.services import Emission, emit_many
from stock.events import crossing
from stock.exceptions import InsufficientStock
from stock.models import MovementReason, StockMovement
from stock.services import stock_adjust
from stock.transfers import (
    ReceiptLine,
    TransferLineRequest,
    transfer_close,
    transfer_create,
    transfer_receive,
    transfer_ship,
)

pytestmark = pytest.mark.django_db

CROSSINGS = ("variant.low_stock", "variant.out_of_stock", "variant.back_in_stock")


def _adjust(variant, delta, location=None):
    reason = MovementReason.RECEIVED if delta > 0 else MovementReason.DAMAGED
    return stock_adjust(
        variant_id=variant.pk, delta=delta, reason=reason, actor=TEST_ACTOR, location=location
    )


def _sent_out(*events):
    """As the worker leaves an event once it handed it to the endpoints."""
    Event.objects.filter(pk__in=[event.pk for event in events]).update(dispatched_at=timezone.now())


def _updates(variant, location):
    return list(
        Event.objects.filter(
            type="stock_level.updated", key=f"stock_level:{variant.pk}:{location.pk}"
        ).order_by("id")
    )


def _crossings():
    return [
        (event.type, event.data["location"], event.data["available"])
        for event in Event.objects.filter(type__in=CROSSINGS).order_by("id")
    ]


def test_a_burst_of_changes_to_a_level_is_one_event_with_the_latest_figures(make_product, main):
    variant = make_product(stock={"S-M": 10}).variants.get()
    first = _adjust(variant, -1)
    second = _adjust(variant, 4)

    [event] = _updates(variant, main)
    assert event.data == {
        "variant": variant.pk,
        "sku": variant.sku,
        "product": variant.product_id,
        "location": "MAIN",
        "on_hand": 13,
        "committed": 0,
        "available": 13,
        "incoming": 0,
    }
    # The level's latest movement: every later change of the level has a higher one.
    assert event.sequence == second.pk > first.pk


def test_after_an_event_is_sent_the_next_change_is_a_new_event_with_a_higher_sequence(
    make_product, main
):
    variant = make_product(stock={"S-M": 10}).variants.get()
    _adjust(variant, -1)
    [sent] = _updates(variant, main)
    _sent_out(sent)

    _adjust(variant, -2)

    old, new = _updates(variant, main)
    assert (old.data["on_hand"], new.data["on_hand"]) == (9, 7)
    assert new.sequence > old.sequence
    assert new.uuid != old.uuid


def test_levels_at_different_locations_are_separate_events(make_product, main, store):
    variant = make_product(stock={"S-M": 10}).variants.get()
    _adjust(variant, -1)
    _adjust(variant, 3, location=store)

    [at_main] = _updates(variant, main)
    [at_store] = _updates(variant, store)
    assert (at_main.data["location"], at_main.data["on_hand"]) == ("MAIN", 9)
    assert (at_store.data["location"], at_store.data["on_hand"]) == ("STORE-01", 3)


def test_an_order_commits_units_and_the_level_says_so(make_product, place_order, main):
    variant = make_product(stock={"S-M": 10}).variants.get()
    place_order((variant, 3))

    [event] = _updates(variant, main)
    assert (event.data["on_hand"], event.data["committed"], event.data["available"]) == (10, 3, 7)


def test_crossings_are_told_once_each_not_at_every_change(make_product, main):
    # One location: the level and the variant over all locations cross together.
    variant = make_product(stock={"S-M": 6}, low_stock_threshold=2).variants.get()

    _adjust(variant, -3)  # 6 -> 3: still above the threshold
    assert _crossings() == []
    _adjust(variant, -1)  # 3 -> 2: low
    _adjust(variant, -1)  # 2 -> 1: still low, no news
    assert _crossings() == [("variant.low_stock", "MAIN", 2), ("variant.low_stock", None, 2)]
    _adjust(variant, -1)  # 1 -> 0: out
    _adjust(variant, 5)  # 0 -> 5: back
    assert _crossings()[2:] == [
        ("variant.out_of_stock", "MAIN", 0),
        ("variant.out_of_stock", None, 0),
        ("variant.back_in_stock", "MAIN", 5),
        ("variant.back_in_stock", None, 5),
    ]
    event = Event.objects.filter(type="variant.out_of_stock", data__location="MAIN").get()
    assert event.data == {
        "variant": variant.pk,
        "sku": variant.sku,
        "product": variant.product_id,
        "location": "MAIN",
        "available": 0,
        "low_stock_threshold": 2,
    }
    assert event.sequence is None


def test_a_location_sold_out_is_not_the_variant_sold_out(make_product, main, store):
    variant = make_product(stock={"S-M": 10}, low_stock_threshold=2).variants.get()
    _adjust(variant, 3, location=store)  # the store has it now: back in stock there
    assert _crossings() == [("variant.back_in_stock", "STORE-01", 3)]

    _adjust(variant, -3, location=store)

    # Out at the shop; 10 left over all locations: no news for the variant.
    assert _crossings()[1:] == [("variant.out_of_stock", "STORE-01", 0)]


def test_a_refused_change_emits_nothing(make_product, main):
    variant = make_product(stock={"S-M": 1}).variants.get()
    before = Event.objects.count()
    with pytest.raises(InsufficientStock):
        _adjust(variant, -2)
    assert Event.objects.count() == before


@pytest.mark.parametrize(
    ("before", "after", "threshold", "expected"),
    [
        (5, 3, 2, None),
        (5, 2, 2, "variant.low_stock"),
        (3, 1, 2, "variant.low_stock"),
        (2, 1, 2, None),
        (1, 0, 2, "variant.out_of_stock"),
        (5, 0, 2, "variant.out_of_stock"),
        (0, 0, 2, None),
        (0, 1, 2, "variant.back_in_stock"),
        (0, 9, 2, "variant.back_in_stock"),
        (1, 9, 2, None),
        (1, 0, 0, "variant.out_of_stock"),
        (2, 1, 0, None),
    ],
)
def test_crossing(before, after, threshold, expected):
    assert crossing(before, after, threshold) == expected


def test_a_transfer_tells_of_its_shipping_and_its_receipt_and_the_incoming_units(
    make_product, main, store
):
    small, large = make_product(stock={"S-M": 5, "L-XL": 3}).variants.order_by("pk")
    transfer = transfer_create(
        from_location=main,
        to_location=store,
        lines=[
            TransferLineRequest(variant_id=small.pk, quantity=2),
            TransferLineRequest(variant_id=large.pk, quantity=3),
        ],
        actor=TEST_ACTOR,
        reference="weekly",
    )
    transfer_ship(transfer_id=transfer.pk, actor=TEST_ACTOR)

    [shipped] = Event.objects.filter(type="transfer.shipped")
    transfer.refresh_from_db()
    assert shipped.data == {
        "id": transfer.pk,
        "number": transfer.number,
        "status": "in_transit",
        "from_location": "MAIN",
        "to_location": "STORE-01",
        "shipped_at": transfer.shipped_at.isoformat().replace("+00:00", "Z"),
        "received_at": None,
        "lines": [
            {"sku": small.sku, "quantity": 2, "quantity_received": 0, "quantity_lost": 0},
            {"sku": large.sku, "quantity": 3, "quantity_received": 0, "quantity_lost": 0},
        ],
    }
    [incoming] = _updates(large, store)
    assert (incoming.data["on_hand"], incoming.data["incoming"]) == (0, 3)

    line = transfer.lines.get(variant=large)
    transfer_receive(transfer_id=transfer.pk, lines=[ReceiptLine(line.pk, 1)], actor=TEST_ACTOR)
    assert not Event.objects.filter(type="transfer.received").exists()  # not all of it yet
    [arrived] = _updates(large, store)  # the same burst: one event, the latest figures
    assert (arrived.data["on_hand"], arrived.data["incoming"]) == (1, 2)

    transfer_close(transfer_id=transfer.pk, actor=TEST_ACTOR)

    [received] = Event.objects.filter(type="transfer.received")
    assert received.data["status"] == "received"
    assert received.data["received_at"] is not None
    assert received.data["lines"] == [
        {"sku": small.sku, "quantity": 2, "quantity_received": 0, "quantity_lost": 2},
        {"sku": large.sku, "quantity": 3, "quantity_received": 1, "quantity_lost": 2},
    ]


def test_emitting_many_events_costs_four_queries_at_most(make_product):
    variants = list(make_product(stock={"S-M": 1, "L-XL": 1, "One Size": 1}).variants.all())
    _sent_out(*Event.objects.all())
    emit_many(
        [
            Emission("stock_level.updated", {"n": 0}, key=f"k{v.pk}", sequence=1)
            for v in variants[:1]
        ]
    )
    emissions = [
        *(Emission("stock_level.updated", {"n": 1}, key=f"k{v.pk}", sequence=2) for v in variants),
        Emission("variant.low_stock", {"n": 1}),
        Emission("variant.out_of_stock", {"n": 1}),
    ]

    with CaptureQueriesContext(connection) as queries:
        events = emit_many(emissions)

    # The pending events of the keys, their UPDATE, the new events' INSERT, one task.
    assert len(queries) == 4
    assert len({event.pk for event in events}) == 5
    assert Event.objects.filter(key=f"k{variants[0].pk}").get().sequence == 2


def test_emissions_of_one_key_in_one_call_are_one_event(db):
    events = emit_many(
        [
            Emission("stock_level.updated", {"n": 1}, key="k", sequence=1),
            Emission("stock_level.updated", {"n": 2}, key="k", sequence=2),
        ]
    )
    assert events[0] is events[1]
    [event] = Event.objects.filter(key="k")
    assert (event.data, event.sequence) == ({"n": 2}, 2)


def test_a_movement_and_its_level_event_share_the_movement_id(make_product, main):
    variant = make_product(stock={"S-M": 4}).variants.get()
    movement = _adjust(variant, -1)
    [event] = _updates(variant, main)
    assert (
        StockMovement.objects.filter(variant=variant).latest("id").pk
        == movement.pk
        == event.sequence
    )


def test_many_events_are_emitted_in_chunks_each_with_its_task(db, monkeypatch):
    from django_tasks_db.models import DBTaskResult

    from events import services

    monkeypatch.setattr(services, "EMIT_CHUNK", 3)
    emit_many([Emission("stock_level.updated", {"n": 0}, key="k1", sequence=1)])
    emissions = [
        Emission("stock_level.updated", {"n": n}, key=f"k{n}", sequence=n) for n in range(1, 8)
    ]

    events = emit_many(emissions)

    assert Event.objects.count() == 7  # k1 coalesced into the one pending
    assert events[0].data == {"n": 1}
    sent = sorted(
        len(task.args_kwargs["args"][0])
        for task in DBTaskResult.objects.filter(task_path="events.tasks.dispatch_events")
    )
    # The first chunk's two new events, then three, then one (with the first one's own task).
    assert sent == [2, 3]
    assert DBTaskResult.objects.filter(task_path="events.tasks.dispatch_event").count() == 2
