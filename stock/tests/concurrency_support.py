"""Helpers of the stock's concurrency tests: plans, threads' outcomes, the ledger's checks."""

import functools
import random
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import pytest
from django.db.models import Sum

from catalog.models import Variant
from core.actors import system_actor
from stock.exceptions import InsufficientStock
from stock.ledger import StockChange
from stock.models import MovementReason, StockMovement
from stock.services import stock_adjust, stock_apply

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
