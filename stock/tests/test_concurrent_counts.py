"""A count session applied while the shop sells (PostgreSQL, real threads): the correction is
only what the shelf lacked when it was counted, whatever was sold before the count, between the
count and the apply, and during the apply; the ledger reconciles afterwards."""

import functools
import random
import threading
import time
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import transaction

from catalog.tests.support import JOIN_TIMEOUT, race
from core.actors import Actor
from core.api.authentication import api_key_actor
from core.api.models import Scope
from core.api.services import api_key_create
from orders.models import Order
from orders.services import LineRequest, order_place
from stock import counts
from stock.ledger import stock_levels
from stock.models import (
    CountLine,
    CountSession,
    Location,
    LocationKind,
    MovementReason,
    StockMovement,
)
from stock.services import stock_adjust, stock_lock
from stock.tests.concurrency_support import ACTOR, _unexpected

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

SALES = 20
UNITS = 40
STOLEN = 3  # gone from the shelf before the session started, unknown to the ledger


def _sell(till: Actor, store: Location, variant_id: int, pause: float) -> Order:
    time.sleep(pause)
    return order_place(
        lines=[LineRequest(variant_id=variant_id, quantity=1)],
        actor=till,
        location=store,
        fulfil=True,
    )


def _count_the_shelf(session_id: int, store: Location, variant_id: int, missing: int) -> int:
    """Staff count the shelf and enter it at once: the shelf holds what the ledger holds at
    that moment less what went missing. The read and the entry share the variant's lock, as a
    count taken and typed in the same instant would."""
    with transaction.atomic():
        stock_lock(ids=[variant_id])
        shelf = stock_levels([variant_id], store)[variant_id].on_hand - missing
        counts.count_enter(session_id=session_id, actor=ACTOR, variant_id=variant_id, counted=shelf)
    return shelf


def test_a_session_applied_during_twenty_concurrent_sales_corrects_only_the_real_difference(
    make_product,
):
    # Given a shop with 40 of each of two sizes, 3 of the first stolen (the ledger still says 40)
    store = Location.objects.create(code="STORE-01", name="Shop", kind=LocationKind.STORE)
    product = make_product(stock={"S-M": 0, "L-XL": 0})
    small, large = product.variants.order_by("pk")
    for variant in (small, large):
        stock_adjust(
            variant_id=variant.pk, delta=UNITS, reason="received", actor=ACTOR, location=store
        )
    key, _ = api_key_create(name="till", scopes=[Scope.ORDERS_WRITE])
    till = api_key_actor(key)
    session = counts.count_start(location=store, actor=ACTOR)

    # When 20 till sales run while staff count both sizes and then apply the session
    rng = random.Random("counts")  # noqa: S311  # test data
    # One sale every 20 ms: some before the count, some between the count and the apply, some
    # while it applies, and the rest after.
    plan = [(rng.choice([small.pk, large.pk]), 0.02 * n) for n in range(SALES)]
    counted = threading.Event()

    def count_then_apply() -> counts.CountResult:
        time.sleep(0.05)
        _count_the_shelf(session.pk, store, small.pk, STOLEN)
        _count_the_shelf(session.pk, store, large.pk, 0)
        counted.set()
        time.sleep(0.15)
        return counts.count_apply(session_id=session.pk, actor=ACTOR)

    outcomes = race(
        [functools.partial(_sell, till, store, variant_id, pause) for variant_id, pause in plan]
        + [count_then_apply]
    )

    # Then every sale and the apply succeeded, and no deadlock was broken
    assert not _unexpected(outcomes), outcomes
    assert counted.wait(JOIN_TIMEOUT)
    result = outcomes[-1]
    assert isinstance(result, counts.CountResult)
    sold = {
        variant.pk: sum(1 for variant_id, _ in plan if variant_id == variant.pk)
        for variant in (small, large)
    }
    # The correction is exactly what was stolen: sales before, during and after the count
    # stand as sales.
    assert {c.line.variant_id: c.units for c in result.corrections} == {
        small.pk: -STOLEN,
        large.pk: 0,
    }
    lines = {line.variant_id: line for line in CountLine.objects.filter(session=session)}
    # (The race did what it is for: sales came before the count and between it and the apply.)
    assert sum(UNITS - line.expected_at_entry for line in lines.values()) > 0
    assert sum(line.expected_at_entry for line in lines.values()) > 2 * UNITS - SALES
    for variant in (small, large):
        level = variant.stock_levels.get(location=store)
        assert level.on_hand == UNITS - sold[variant.pk] - (STOLEN if variant == small else 0)
        # = what was counted, less the sales made after the count was entered
        line = lines[variant.pk]
        sold_after_entry = line.expected_at_entry - (UNITS - sold[variant.pk])
        assert level.on_hand == line.counted - sold_after_entry
    corrections = StockMovement.objects.filter(
        reason=MovementReason.COUNT_CORRECTION, reference=f"COUNT-{session.pk}"
    )
    assert sorted(corrections.values_list("variant_id", "delta")) == [
        (small.pk, -STOLEN),
        (large.pk, 0),
    ]
    # The ledger holds: every level is its movements, nothing committed that no order holds.
    call_command("reconcile_stock", stdout=StringIO(), stderr=StringIO())
    # And applying again changes nothing.
    again = counts.count_apply(session_id=session.pk, actor=ACTOR)
    assert [(c.line.variant_id, c.units) for c in again.corrections] == [
        (c.line.variant_id, c.units) for c in result.corrections
    ]
    assert corrections.count() == 2


def test_racing_applies_of_one_session_apply_it_once_and_answer_alike(make_product):
    store = Location.objects.create(code="STORE-01", name="Shop", kind=LocationKind.STORE)
    variant = make_product(stock={"S-M": 0}).variants.get()
    stock_adjust(variant_id=variant.pk, delta=5, reason="received", actor=ACTOR, location=store)
    session = counts.count_start(location=store, actor=ACTOR)
    counts.count_enter(session_id=session.pk, actor=ACTOR, variant_id=variant.pk, counted=2)

    outcomes = race([functools.partial(counts.count_apply, session_id=session.pk, actor=ACTOR)] * 6)

    assert not _unexpected(outcomes), outcomes
    assert {tuple((c.line.variant_id, c.units) for c in o.corrections) for o in outcomes} == {
        ((variant.pk, -3),)
    }
    assert variant.stock_levels.get(location=store).on_hand == 2
    assert StockMovement.objects.filter(reason=MovementReason.COUNT_CORRECTION).count() == 1
    call_command("reconcile_stock", stdout=StringIO(), stderr=StringIO())


def test_sessions_started_at_once_at_one_location_open_one(make_product):
    from core.exceptions import Conflict

    store = Location.objects.create(code="STORE-01", name="Shop", kind=LocationKind.STORE)

    outcomes = race([functools.partial(counts.count_start, location=store, actor=ACTOR)] * 6)

    started = [o for o in outcomes if isinstance(o, CountSession)]
    refused = [o for o in outcomes if isinstance(o, Conflict)]
    assert (len(started), len(refused)) == (1, 5), outcomes
    assert {o.details["count"] for o in refused} == {started[0].pk}
