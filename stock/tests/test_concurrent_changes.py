"""Concurrent adjustments, multi-variant changes, last-unit races and counts against adjustments
(PostgreSQL, threads released together by a barrier): no update lost, no deadlock, the ledger
holds."""

import functools
import itertools
import time
from collections import Counter, defaultdict

import pytest

from catalog.models import Variant
from catalog.tests.support import race
from stock.exceptions import InsufficientStock, StockCountMismatch
from stock.ledger import StockChange
from stock.models import MovementReason, StockMovement
from stock.services import stock_adjust, stock_apply, stock_count
from stock.tests.concurrency_support import (
    ACTOR,
    THREADS,
    Outcome,
    _adjust_all,
    _adjustment_plan,
    _apply_all,
    _assert_ledger_holds,
    _attempt,
    _multi_change_plan,
    _paired,
    _quantities,
    _rng,
    _unexpected,
    _variant_ids,
)

# serialized_rollback, as in the project's other transactional tests: each test restores the data
# of the migrations (staff groups, content types) that the flush after the one before emptied,
# and leaves the tables empty for the next one.
pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_many_threads_adjusting_the_same_variants_lose_no_update_and_keep_the_ledger(
    make_product,
) -> None:
    # Given three variants with 4 units each, and 8 clerks with 25 adjustments each that take
    # away more than there is: some must be refused, whatever the order they run in
    variant_ids = _variant_ids(("S-M", 4), ("L-XL", 4), ("One Size", 4), make_product=make_product)
    opening = _quantities(variant_ids)
    plans = [_adjustment_plan(_rng(f"adjust-{n}"), variant_ids, calls=25) for n in range(THREADS)]
    planned: Counter[int] = Counter()
    for variant_id, delta, _ in (call for plan in plans for call in plan):
        planned[variant_id] += delta
    assert any(opening[v] + planned[v] < 0 for v in variant_ids), (opening, planned)

    # When they all adjust at once
    results = race([functools.partial(_adjust_all, plan) for plan in plans])

    # Then the only error anyone saw is "not enough stock" (no deadlock, no constraint hit)
    calls = _paired(plans, results)
    assert not _unexpected((outcome for _, outcome in calls), InsufficientStock)
    applied = [(call, o) for call, o in calls if isinstance(o, StockMovement)]
    refused = [(call, o) for call, o in calls if isinstance(o, InsufficientStock)]
    assert len(applied) + len(refused) == THREADS * 25
    assert refused, "nothing was refused: the test did not reach an empty shelf"
    # each refusal was true when it was made, and says so
    for (variant_id, delta, _), error in refused:
        [line] = error.details["lines"]
        assert (line["variant"], line["requested"]) == (variant_id, -delta)
        assert 0 <= line["available"] < -delta
    # each success returned the movement it wrote
    for (variant_id, delta, reason), movement in applied:
        assert (movement.variant_id, movement.delta, movement.reason) == (variant_id, delta, reason)

    # and every variant's quantity is its opening plus exactly the changes that succeeded
    changed: defaultdict[int, int] = defaultdict(int)
    for (variant_id, delta, _), _movement in applied:
        changed[variant_id] += delta
    assert _quantities(variant_ids) == {v: opening[v] + changed[v] for v in variant_ids}
    # and the ledger holds: one movement per success (after each opening one), nothing else
    ledgers = _assert_ledger_holds(variant_ids)
    written = [m.pk for movements in ledgers.values() for m in movements[1:]]
    assert len(written) == len(applied)
    assert set(written) == {movement.pk for _, movement in applied}
    assert all(movements[0].reason == MovementReason.INITIAL for movements in ledgers.values())


def test_multi_variant_changes_in_opposite_orders_never_deadlock_and_are_all_or_nothing(
    make_product,
) -> None:
    # Given three variants and 8 threads, each applying changes to two or three of them at once,
    # listed as (A, B) by some threads and (B, A) by others, taking more than there is
    variant_ids = _variant_ids(("S-M", 6), ("L-XL", 6), ("One Size", 6), make_product=make_product)
    opening = _quantities(variant_ids)
    plans = [_multi_change_plan(_rng(f"multi-{n}"), variant_ids, f"t{n}") for n in range(THREADS)]
    planned: Counter[int] = Counter()
    for _, changes in (call for plan in plans for call in plan):
        for change in changes:
            planned[change.variant_id] += change.delta
    assert any(opening[v] + planned[v] < 0 for v in variant_ids), (opening, planned)

    # When they all run at once
    results = race([functools.partial(_apply_all, plan) for plan in plans])

    # Then nobody deadlocked or saw any error but "not enough stock"
    calls = _paired(plans, results)
    assert not _unexpected((outcome for _, outcome in calls), InsufficientStock)
    applied = [(call, o) for call, o in calls if not isinstance(o, Exception)]
    refused = [(call, o) for call, o in calls if isinstance(o, InsufficientStock)]
    assert refused, "nothing was refused: the test did not reach an empty shelf"
    # and some refused change also held a line that could have gone through on its own
    partly_possible = [
        (reference, changes)
        for (reference, changes), error in refused
        if {c.variant_id for c in changes} - {line["variant"] for line in error.details["lines"]}
    ]
    assert partly_possible, "no refused change had a line that was fine on its own"

    # and each change wrote all of its lines or none: movements by reference are exactly the
    # lines of the changes that succeeded
    by_reference: defaultdict[str, list[tuple[int, int]]] = defaultdict(list)
    for movement in StockMovement.objects.filter(variant_id__in=variant_ids).exclude(
        reason=MovementReason.INITIAL
    ):
        by_reference[movement.reference].append((movement.variant_id, movement.delta))
    expected = {
        reference: sorted((c.variant_id, c.delta) for c in changes)
        for (reference, changes), _ in applied
    }
    assert {reference: sorted(lines) for reference, lines in by_reference.items()} == expected
    for (_, changes), movements in applied:
        assert sorted((m.variant_id, m.delta) for m in movements) == sorted(
            (c.variant_id, c.delta) for c in changes
        )
    # each refusal named only lines of its own that take stock, short when it was made
    for (_, changes), error in refused:
        deltas = {c.variant_id: c.delta for c in changes}
        for line in error.details["lines"]:
            assert line["requested"] == -deltas[line["variant"]] > line["available"] >= 0

    # and the quantities are the openings plus exactly the changes that succeeded
    changed: defaultdict[int, int] = defaultdict(int)
    for (_, changes), _movements in applied:
        for change in changes:
            changed[change.variant_id] += change.delta
    assert _quantities(variant_ids) == {v: opening[v] + changed[v] for v in variant_ids}
    _assert_ledger_holds(variant_ids)


def _sell_one(variant_id: int, buyer: int) -> StockMovement:
    [movement] = stock_apply(
        changes=[StockChange(variant_id=variant_id, delta=-1)],
        reason=MovementReason.SALE,
        actor=ACTOR,
        reference=f"order-{buyer}",
    )
    return movement


def _lose_one(variant_id: int, buyer: int) -> StockMovement:
    return stock_adjust(
        variant_id=variant_id, delta=-1, reason=MovementReason.LOST, actor=ACTOR, note=f"{buyer}"
    )


@pytest.mark.parametrize(
    ("take_one", "reason"),
    [(_sell_one, MovementReason.SALE), (_lose_one, MovementReason.LOST)],
    ids=["sold-with-stock_apply", "lost-with-stock_adjust"],
)
def test_ten_buyers_of_the_last_unit_exactly_one_gets_it(make_product, take_one, reason) -> None:
    # Given one unit left
    [variant_id] = _variant_ids(("S-M", 1), make_product=make_product)
    sku = Variant.objects.get(pk=variant_id).sku

    # When ten threads take it at the same moment
    outcomes = race([functools.partial(take_one, variant_id, buyer) for buyer in range(10)])

    # Then one gets it, nine are told there is none left, and nothing else happens
    assert not _unexpected(outcomes, InsufficientStock)
    [winner] = [o for o in outcomes if isinstance(o, StockMovement)]
    losers = [o for o in outcomes if isinstance(o, InsufficientStock)]
    assert len(losers) == 9
    short = {"variant": variant_id, "sku": sku, "location": "MAIN", "requested": 1, "available": 0}
    assert all(error.details == {"location": "MAIN", "lines": [short]} for error in losers)
    assert _quantities([variant_id]) == {variant_id: 0}
    ledger = _assert_ledger_holds([variant_id])[variant_id]
    assert [(m.reason, m.delta, m.quantity_after) for m in ledger] == [
        (MovementReason.INITIAL, 1, 1),
        (reason, -1, 0),
    ]
    assert ledger[1].pk == winner.pk


# Paced so that, measured on 2 cores, about a third of the counts go through and the rest meet
# an adjustment made since they read the quantity: both outcomes, every run.
ADJUSTERS = 5


ADJUST_PAUSE = 0.004


COUNTS = 12


COUNT_PAUSE = 0.002


def _count_repeatedly(variant_id: int, seed: str, counts: int) -> list[Outcome]:
    """Counts as (expected, counted, outcome): read the quantity, count the shelf (a moment
    passes), then submit the count against the quantity read."""
    rng = _rng(seed)
    results = []
    for _ in range(counts):
        expected = Variant.objects.values_list("quantity", flat=True).get(pk=variant_id)
        time.sleep(rng.uniform(0, COUNT_PAUSE))
        counted = max(0, expected + rng.randint(-2, 2))
        call = functools.partial(
            stock_count,
            variant_id=variant_id,
            quantity=counted,
            expected_quantity=expected,
            actor=ACTOR,
        )
        outcome = _attempt(call)
        results.append((expected, counted, outcome))
        if _unexpected([outcome], StockCountMismatch):
            break
    return results


def test_a_count_racing_with_adjustments_applies_against_what_it_expected_or_is_refused(
    make_product, request
) -> None:
    # Given three variants, five clerks adjusting them and one clerk counting each of them
    variant_ids = _variant_ids(
        ("S-M", 20), ("L-XL", 20), ("One Size", 20), make_product=make_product
    )
    adjust_plans = [
        _adjustment_plan(_rng(f"count-adj-{n}"), variant_ids, calls=20) for n in range(ADJUSTERS)
    ]
    adjusters = [functools.partial(_adjust_all, plan, pause=ADJUST_PAUSE) for plan in adjust_plans]
    counters = [
        functools.partial(_count_repeatedly, variant_id, f"count-{n}", counts=COUNTS)
        for n, variant_id in enumerate(variant_ids)
    ]

    # When they all work at once
    results = race([*adjusters, *counters])

    # Then the only errors are "not enough stock" and "the quantity changed since you looked"
    adjustments = [o for _, o in _paired(adjust_plans, results[:ADJUSTERS])]
    count_plans = [[variant_id] * COUNTS for variant_id in variant_ids]
    counts = [
        (variant_id, *count) for variant_id, count in _paired(count_plans, results[ADJUSTERS:])
    ]
    assert not _unexpected(adjustments, InsufficientStock)
    assert not _unexpected((count[-1] for count in counts), StockCountMismatch)
    applied = [count for count in counts if isinstance(count[-1], StockMovement)]
    mismatched = [count for count in counts if isinstance(count[-1], StockCountMismatch)]
    # Kept with the test's report, to see how the race went.
    request.node.user_properties.append(("counts_applied", len(applied)))
    request.node.user_properties.append(("counts_mismatched", len(mismatched)))
    assert len(applied) + len(mismatched) == len(variant_ids) * COUNTS
    # a count that went through replaced exactly the quantity it was made against
    for variant_id, expected, counted, movement in applied:
        assert movement.variant_id == variant_id
        assert movement.reason == MovementReason.COUNT_CORRECTION
        assert movement.quantity_after == counted
        assert movement.quantity_after - movement.delta == expected
    # a refused one says what it expected and the different quantity it found
    for _, expected, _, error in mismatched:
        assert error.details["expected_quantity"] == expected
        assert error.details["quantity"] != expected
    # both happened: the counts did race the adjustments
    assert applied, "no count went through"
    assert mismatched, "no count was refused: the counts never raced an adjustment"

    # and the ledger holds, with a movement for each change that went through and no other
    ledgers = _assert_ledger_holds(variant_ids)
    written = sorted(m.pk for movements in ledgers.values() for m in movements[1:])
    succeeded = [o.pk for o in adjustments if isinstance(o, StockMovement)]
    assert written == sorted(succeeded + [count[-1].pk for count in applied])
    # and the movement before each applied count left the quantity the count expected
    before = {
        m.pk: previous.quantity_after
        for movements in ledgers.values()
        for previous, m in itertools.pairwise(movements)
    }
    assert all(before[movement.pk] == expected for _, expected, _, movement in applied)
