"""The stock ledger under real concurrency: PostgreSQL, threads released together by a barrier.

Whatever the interleaving, for every variant the quantity is the sum of its movements and never
below zero, each movement's ``quantity_after`` follows from the one before it, no update is lost,
concurrent multi-variant changes never deadlock, a duplicate request changes stock once, and a
change that fails halfway leaves nothing behind.
"""

import functools
import itertools
import random
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import timedelta
from typing import Any

import pytest
from django.db.models import Sum
from rest_framework.test import APIClient

from catalog.models import Variant
from catalog.tests.support import race
from core.actors import system_actor
from core.api import idempotency
from core.api.idempotency import REPLAYED_HEADER
from core.api.models import IdempotencyKey
from core.api.services import api_key_create
from stock import services as stock_services
from stock.exceptions import InsufficientStock, StockCountMismatch
from stock.models import MovementReason, StockMovement
from stock.services import StockChange, stock_adjust, stock_apply, stock_count

# serialized_rollback, as in the project's other transactional tests: each test restores the data
# of the migrations (staff groups, content types) that the flush after the one before emptied,
# and leaves the tables empty for the next one.
pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

ACTOR = system_actor("race")
THREADS = 8

Outcome = Any  # what a call returned, or the exception it raised


def _attempt(call: Callable[[], Outcome]) -> Outcome:
    try:
        return call()
    except Exception as error:  # recorded: the test decides which errors are allowed
        return error


def _rng(seed: object) -> random.Random:
    # Seeded, so a failing plan can be replayed; only the interleaving differs from run to run.
    return random.Random(str(seed))  # noqa: S311  # test data, not secrets


def _variant_ids(*sizes_and_quantities: tuple[str, int], make_product: Any) -> list[int]:
    product = make_product(stock=dict(sizes_and_quantities))
    return list(product.variants.order_by("pk").values_list("pk", flat=True))


def _quantities(variant_ids: Iterable[int]) -> dict[int, int]:
    return dict(Variant.objects.filter(pk__in=variant_ids).values_list("pk", "quantity"))


def _snapshot(variant_ids: Sequence[int]) -> tuple[list[Any], list[Any]]:
    """Everything a stock change could touch: the variants' rows and their ledgers."""
    rows = list(
        Variant.objects.filter(pk__in=variant_ids)
        .order_by("pk")
        .values_list("pk", "quantity", "in_stock", "low_stock", "updated_at")
    )
    ledger = list(
        StockMovement.objects.filter(variant_id__in=variant_ids)
        .order_by("id")
        .values_list("id", "variant_id", "delta", "quantity_after", "reason", "reference")
    )
    return rows, ledger


def _assert_ledger_holds(variant_ids: Iterable[int]) -> dict[int, list[StockMovement]]:
    """For every variant: quantity >= 0, quantity == the sum of its movements, and, in the
    order they were written, each movement's ``quantity_after`` is the previous one plus its
    delta (the first one starts from nothing). Returns each variant's movements, oldest first."""
    ledgers: dict[int, list[StockMovement]] = {}
    for variant in Variant.objects.filter(pk__in=variant_ids).order_by("pk"):
        movements = list(StockMovement.objects.filter(variant=variant).order_by("id"))
        total = StockMovement.objects.filter(variant=variant).aggregate(total=Sum("delta"))
        assert variant.quantity >= 0, variant
        assert variant.quantity == total["total"], (variant.pk, variant.quantity, total)
        breaks = []
        previous = 0
        for movement in movements:
            if movement.quantity_after != previous + movement.delta:
                breaks.append((movement.pk, previous, movement.delta, movement.quantity_after))
            previous = movement.quantity_after
        assert not breaks, f"variant {variant.pk}: (id, before, delta, after) {breaks}"
        assert previous == variant.quantity
        ledgers[variant.pk] = movements
    return ledgers


def _unexpected(outcomes: Iterable[Outcome], *allowed: type[Exception]) -> list[Exception]:
    return [o for o in outcomes if isinstance(o, Exception) and not isinstance(o, allowed)]


def _run_all(
    calls: Iterable[Callable[[], Outcome]], *allowed: type[Exception], pause: float = 0.0
) -> list[Outcome]:
    """Make the calls one after the other, ``pause`` seconds apart, and return their outcomes.
    Stops at the first error that is not ``allowed``: a broken service then fails the test at
    once, instead of piling up deadlocks that PostgreSQL takes a second each to break."""
    outcomes = []
    for call in calls:
        outcome = _attempt(call)
        outcomes.append(outcome)
        if isinstance(outcome, Exception) and not isinstance(outcome, allowed):
            break
        time.sleep(pause)
    return outcomes


def _paired(plans: Sequence[Sequence[Any]], results: Sequence[Outcome]) -> list[Any]:
    """Each planned call with its outcome, once every thread is known to have made all of its
    calls (a thread stops at its first unexpected error, reported here)."""
    stopped = [
        outcomes if isinstance(outcomes, Exception) else outcomes[-1]
        for plan, outcomes in zip(plans, results, strict=True)
        if isinstance(outcomes, Exception) or len(outcomes) != len(plan)
    ]
    assert not stopped, f"threads stopped at an unexpected error: {stopped}"
    return [
        (call, outcome)
        for plan, outcomes in zip(plans, results, strict=True)
        for call, outcome in zip(plan, outcomes, strict=True)
    ]


# Many threads adjusting the same variants


def _adjustment_plan(rng: random.Random, variant_ids: Sequence[int], calls: int) -> list[Any]:
    """``calls`` manual adjustments as (variant_id, delta, reason), more taken than added."""
    plan = []
    for _ in range(calls):
        reason = rng.choice(
            [MovementReason.RECEIVED, MovementReason.DAMAGED, MovementReason.CORRECTION]
        )
        if reason == MovementReason.RECEIVED:
            delta = rng.randint(1, 3)
        elif reason == MovementReason.DAMAGED:
            delta = -rng.randint(1, 4)
        else:
            delta = rng.choice([-3, -2, -1, 1, 2])
        plan.append((rng.choice(variant_ids), delta, reason))
    return plan


def _adjust_all(plan: list[Any], pause: float = 0.0) -> list[Outcome]:
    """Make the planned adjustments one after the other, ``pause`` seconds apart."""
    calls = (
        functools.partial(
            stock_adjust, variant_id=variant_id, delta=delta, reason=reason, actor=ACTOR
        )
        for variant_id, delta, reason in plan
    )
    return _run_all(calls, InsufficientStock, pause=pause)


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


# Multi-variant changes in different orders


# Overlapping sets of the three variants (by index), each also in the reverse order.
_ORDERS = [(0, 1), (1, 0), (1, 2), (2, 1), (0, 2), (2, 0), (0, 1, 2), (2, 1, 0)]


def _multi_change_plan(rng: random.Random, variant_ids: Sequence[int], tag: str) -> list[Any]:
    """15 multi-variant corrections as (reference, [StockChange]), mostly taking stock."""
    return [
        (
            f"{tag}-{n}",
            [
                StockChange(variant_id=variant_ids[index], delta=rng.choice([-3, -2, -1, 1, 2]))
                for index in rng.choice(_ORDERS)
            ],
        )
        for n in range(15)
    ]


def _apply_all(
    plan: list[Any], allowed: tuple[type[Exception], ...] = (InsufficientStock,)
) -> list[Outcome]:
    calls = (
        functools.partial(
            stock_apply,
            changes=changes,
            reason=MovementReason.CORRECTION,
            actor=ACTOR,
            reference=reference,
        )
        for reference, changes in plan
    )
    return _run_all(calls, *allowed)


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


# The last unit


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
    assert all(
        error.details
        == {"lines": [{"variant": variant_id, "sku": sku, "requested": 1, "available": 0}]}
        for error in losers
    )
    assert _quantities([variant_id]) == {variant_id: 0}
    ledger = _assert_ledger_holds([variant_id])[variant_id]
    assert [(m.reason, m.delta, m.quantity_after) for m in ledger] == [
        (MovementReason.INITIAL, 1, 1),
        (reason, -1, 0),
    ]
    assert ledger[1].pk == winner.pk


# Counts racing with adjustments


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


# Idempotency-Key over the API


def _stock_client(raw_key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw_key}")
    return client


def _post_adjust(
    raw_key: str, variant_id: int, body: dict[str, Any], idempotency_key: str
) -> tuple[int, str | None, Any]:
    response = _stock_client(raw_key).post(
        f"/api/v1/variants/{variant_id}/adjust/",
        body,
        format="json",
        HTTP_IDEMPOTENCY_KEY=idempotency_key,
    )
    return response.status_code, response.headers.get(REPLAYED_HEADER), response.json()


def _in_progress(status: int, body: Any) -> bool:
    return status == 409 and body["error"]["code"] == "idempotency_in_progress"


def test_one_idempotency_key_sent_by_five_threads_at_once_changes_stock_once(
    make_product, request
) -> None:
    # Given a till whose key may change stock, retrying one delivery from five threads
    [variant_id] = _variant_ids(("S-M", 5), make_product=make_product)
    _, raw_key = api_key_create(name="till-7", scopes=["stock:write"])
    body = {"delta": 3, "reason": "received", "note": "delivery 42"}

    # When the five identical requests arrive at once
    outcomes = race(
        [
            functools.partial(_post_adjust, raw_key, variant_id, body, "delivery-42")
            for _ in range(5)
        ]
    )

    # Then one made the change; each other one replayed its answer or was told to retry
    assert not _unexpected(outcomes)
    fresh = [o for o in outcomes if o[0] == 201 and o[1] is None]
    replayed = [o for o in outcomes if o[0] == 201 and o[1] == "true"]
    in_progress = [o for o in outcomes if _in_progress(o[0], o[2])]
    # Kept with the test's report, to see how the race went.
    request.node.user_properties.append(("fresh", len(fresh)))
    request.node.user_properties.append(("replayed", len(replayed)))
    request.node.user_properties.append(("in_progress", len(in_progress)))
    assert len(fresh) == 1, outcomes
    assert len(fresh) + len(replayed) + len(in_progress) == 5, outcomes
    [(_, _, answer)] = fresh
    assert all(replay == answer for _, _, replay in replayed)
    assert answer["variant"]["quantity"] == 8
    # and the stock changed once, with one movement and one stored key
    assert _quantities([variant_id]) == {variant_id: 8}
    ledger = _assert_ledger_holds([variant_id])[variant_id]
    assert [(m.reason, m.delta, m.note) for m in ledger[1:]] == [("received", 3, "delivery 42")]
    assert ledger[1].pk == answer["movement"]["id"]
    assert list(IdempotencyKey.objects.values_list("key", "status_code")) == [("delivery-42", 201)]


def test_a_duplicate_that_waits_too_long_is_told_to_retry_and_its_retry_replays(
    make_product, monkeypatch
) -> None:
    # Given a first request that takes a second to finish, and duplicates that wait 0.2 s
    [variant_id] = _variant_ids(("S-M", 5), make_product=make_product)
    _, raw_key = api_key_create(name="till-10", scopes=["stock:write"])
    body = {"delta": 1, "reason": "returned"}
    monkeypatch.setattr(idempotency, "IN_PROGRESS_WAIT", timedelta(milliseconds=200))
    adjust = stock_services.stock_adjust

    def slow_adjust(**kwargs: Any) -> StockMovement:
        movement = adjust(**kwargs)
        time.sleep(1)  # the effect is written, its transaction still open
        return movement

    monkeypatch.setattr(stock_services, "stock_adjust", slow_adjust)

    # When five identical requests arrive at once
    outcomes = race(
        [functools.partial(_post_adjust, raw_key, variant_id, body, "return-7") for _ in range(5)]
    )

    # Then the first makes the change and the four others are told to retry, not to give up
    assert not _unexpected(outcomes)
    [(_, _, answer)] = [o for o in outcomes if o[0] == 201]
    assert sum(_in_progress(status, reply) for status, _, reply in outcomes) == 4, outcomes
    # and a retry replays the answer of the first, changing nothing
    monkeypatch.setattr(stock_services, "stock_adjust", adjust)
    assert _post_adjust(raw_key, variant_id, body, "return-7") == (201, "true", answer)
    assert _quantities([variant_id]) == {variant_id: 6}
    ledger = _assert_ledger_holds([variant_id])[variant_id]
    assert [(m.reason, m.delta) for m in ledger[1:]] == [("returned", 1)]


def test_one_idempotency_key_with_five_different_bodies_at_once_applies_one_of_them(
    make_product,
) -> None:
    # Given five requests that wrongly share a key, each with another change
    [variant_id] = _variant_ids(("S-M", 5), make_product=make_product)
    _, raw_key = api_key_create(name="till-8", scopes=["stock:write"])
    bodies = [{"delta": n, "reason": "received"} for n in range(1, 6)]

    # When they arrive at once
    outcomes = race(
        [functools.partial(_post_adjust, raw_key, variant_id, b, "same-key") for b in bodies]
    )

    # Then exactly one applies; the others are told the key was used for another request
    # (or, had they waited too long, to retry)
    assert not _unexpected(outcomes)
    [(_, _, answer)] = [o for o in outcomes if o[0] == 201]
    reused = [
        o for o in outcomes if o[0] == 422 and o[2]["error"]["code"] == "idempotency_key_reused"
    ]
    in_progress = [o for o in outcomes if _in_progress(o[0], o[2])]
    assert len(reused) + len(in_progress) == 4, outcomes
    delta = answer["movement"]["delta"]
    assert _quantities([variant_id]) == {variant_id: 5 + delta}
    ledger = _assert_ledger_holds([variant_id])[variant_id]
    assert [(m.reason, m.delta) for m in ledger[1:]] == [("received", delta)]


# A failure in the middle of a change


def _fail_bulk_create_after_the_update(
    monkeypatch: pytest.MonkeyPatch,
    variant_ids: Sequence[int],
    seen: dict[int, int],
    doomed: Callable[[Sequence[StockMovement]], bool] = lambda movements: True,
) -> None:
    """Make writing the movements fail once the quantities are written (``seen`` gets the
    quantities as the failing transaction saw them), for the movements that ``doomed`` picks."""
    write = StockMovement.objects.bulk_create

    def bulk_create(objs: Sequence[StockMovement], *args: Any, **kwargs: Any) -> Any:
        if not doomed(objs):
            return write(objs, *args, **kwargs)
        seen.update(_quantities(variant_ids))
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(StockMovement.objects, "bulk_create", bulk_create)


@pytest.mark.parametrize("change", ["stock_apply", "stock_count"])
def test_a_failure_after_the_quantities_were_written_leaves_nothing_changed(
    make_product, monkeypatch, change
) -> None:
    # Given two variants, and a ledger that fails to take the movements
    a, b = _variant_ids(("S-M", 5), ("L-XL", 5), make_product=make_product)
    before = _snapshot([a, b])
    seen: dict[int, int] = {}
    _fail_bulk_create_after_the_update(monkeypatch, [a, b], seen)

    # When a change fails halfway, after its quantities were written
    changes = [StockChange(variant_id=b, delta=-3), StockChange(variant_id=a, delta=2)]
    calls: dict[str, Callable[[], object]] = {
        "stock_apply": functools.partial(
            stock_apply, changes=changes, reason=MovementReason.CORRECTION, actor=ACTOR
        ),
        "stock_count": functools.partial(
            stock_count, variant_id=a, quantity=7, expected_quantity=5, actor=ACTOR
        ),
    }
    with pytest.raises(RuntimeError, match="disk is full"):
        calls[change]()

    # Then the quantities had changed when it failed, and nothing of it is left
    assert seen == ({a: 7, b: 2} if change == "stock_apply" else {a: 7, b: 5})
    assert _snapshot([a, b]) == before
    _assert_ledger_holds([a, b])


def test_a_failure_halfway_while_others_change_the_same_stock_leaves_nothing_of_it(
    make_product, monkeypatch
) -> None:
    # Given three variants, six clerks adjusting them, and two threads whose multi-variant
    # changes fail after writing their quantities
    variant_ids = _variant_ids(
        ("S-M", 10), ("L-XL", 10), ("One Size", 10), make_product=make_product
    )
    opening = _quantities(variant_ids)
    _fail_bulk_create_after_the_update(
        monkeypatch,
        variant_ids,
        {},
        doomed=lambda movements: any(m.reference.startswith("doomed") for m in movements),
    )
    plans = [_adjustment_plan(_rng(f"doomed-adj-{n}"), variant_ids, calls=15) for n in range(6)]
    doomed_plans = [
        _multi_change_plan(_rng(f"doomed-{n}"), variant_ids, f"doomed-{n}") for n in range(2)
    ]

    # When they all run at once
    results = race(
        [functools.partial(_adjust_all, plan) for plan in plans]
        + [
            functools.partial(_apply_all, plan, allowed=(RuntimeError, InsufficientStock))
            for plan in doomed_plans
        ]
    )

    # Then every doomed change failed (halfway, or refused before writing) and left nothing
    doomed_outcomes = [o for _, o in _paired(doomed_plans, results[6:])]
    assert not _unexpected(doomed_outcomes, RuntimeError, InsufficientStock)
    assert any(isinstance(o, RuntimeError) for o in doomed_outcomes)
    assert not StockMovement.objects.filter(reference__startswith="doomed").exists()
    # and the others went on as if it had never been tried
    adjustments = _paired(plans, results[:6])
    assert not _unexpected((o for _, o in adjustments), InsufficientStock)
    changed: defaultdict[int, int] = defaultdict(int)
    for (variant_id, delta, _), outcome in adjustments:
        if isinstance(outcome, StockMovement):
            changed[variant_id] += delta
    assert _quantities(variant_ids) == {v: opening[v] + changed[v] for v in variant_ids}
    _assert_ledger_holds(variant_ids)


def test_a_server_error_over_the_api_keeps_no_key_and_the_retry_applies_once(
    make_product, monkeypatch
) -> None:
    # Given a till's delivery, and a ledger that fails once the quantity is written
    [variant_id] = _variant_ids(("S-M", 5), make_product=make_product)
    _, raw_key = api_key_create(name="till-9", scopes=["stock:write"])
    body = {"delta": 2, "reason": "received"}
    before = _snapshot([variant_id])
    seen: dict[int, int] = {}
    _fail_bulk_create_after_the_update(monkeypatch, [variant_id], seen)

    # When the request fails halfway
    status, replayed, answer = _post_adjust(raw_key, variant_id, body, "delivery-43")

    # Then it is a 500, nothing changed and the key was not kept
    assert (status, replayed, answer["error"]["code"]) == (500, None, "server_error")
    assert seen == {variant_id: 7}
    assert _snapshot([variant_id]) == before
    assert not IdempotencyKey.objects.exists()

    # When the till retries with the same key once the ledger works again, then once more
    monkeypatch.undo()
    first = _post_adjust(raw_key, variant_id, body, "delivery-43")
    second = _post_adjust(raw_key, variant_id, body, "delivery-43")

    # Then the retry applies (it is no replay of the error), the next one replays it
    assert first[:2] == (201, None)
    assert second == (201, "true", first[2])
    assert _quantities([variant_id]) == {variant_id: 7}
    ledger = _assert_ledger_holds([variant_id])[variant_id]
    assert [(m.reason, m.delta) for m in ledger[1:]] == [("received", 2)]
