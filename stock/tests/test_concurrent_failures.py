"""A change that fails halfway, alone or among concurrent ones, leaves nothing behind
(PostgreSQL)."""

import functools
from collections import defaultdict
from collections.abc import Callable

import pytest

from catalog.tests.support import race
from stock.exceptions import InsufficientStock
from stock.ledger import StockChange
from stock.models import MovementReason, StockMovement
from stock.services import stock_apply, stock_count
from stock.tests.concurrency_support import (
    ACTOR,
    _adjust_all,
    _adjustment_plan,
    _apply_all,
    _assert_ledger_holds,
    _fail_bulk_create_after_the_update,
    _multi_change_plan,
    _paired,
    _quantities,
    _rng,
    _snapshot,
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
