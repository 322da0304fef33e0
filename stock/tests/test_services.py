"""The stock service and the ledger: every change is a movement, written with the quantity in
one transaction; failures change nothing."""

from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import Sum
from django.utils import timezone

from catalog import services
from catalog.models import Variant
from core.actors import Actor, system_actor
from core.exceptions import Protected
from events.models import Event
from orders.services import LineRequest
from stock.exceptions import InsufficientStock, StockCountMismatch
from stock.ledger import StockChange
from stock.models import StockMovement
from stock.selectors import location_default
from stock.services import stock_adjust, stock_apply, stock_count, stock_lock, stock_sell

pytestmark = pytest.mark.django_db


CLERK = Actor(kind="system", name="clerk")


@pytest.fixture
def variant(make_product):
    return make_product(stock={"S-M": 5}).variants.get()


def _ledger(variant):
    return list(
        StockMovement.objects.filter(variant=variant)
        .order_by("id")
        .values_list("reason", "delta", "quantity_after")
    )


def _quantity(variant):
    variant.refresh_from_db()
    return variant.quantity


def test_a_new_variant_with_stock_gets_its_opening_movement(make_product):
    product = make_product(stock={"S-M": 5, "L-XL": 0})
    small, large = product.variants.get(size="S-M"), product.variants.get(size="L-XL")
    assert _ledger(small) == [("initial", 5, 5)]
    movement = small.movements.get()
    assert (movement.actor_kind, movement.actor) == ("system", "test")
    # Nothing to explain for a variant created empty.
    assert _ledger(large) == []


@pytest.mark.parametrize(
    ("delta", "reason", "after"),
    [
        (7, "received", 12),
        (2, "returned", 7),
        (-2, "damaged", 3),
        (-5, "lost", 0),
        (-1, "correction", 4),
        (3, "correction", 8),
    ],
)
def test_stock_adjust_changes_the_quantity_and_appends_a_movement(variant, delta, reason, after):
    movement = stock_adjust(
        variant_id=variant.pk, delta=delta, reason=reason, actor=CLERK, note="n", reference="DN-1"
    )
    assert _quantity(variant) == after
    assert (movement.delta, movement.quantity_after, movement.reason) == (delta, after, reason)
    assert (movement.actor, movement.note, movement.reference) == ("clerk", "n", "DN-1")
    assert _ledger(variant) == [("initial", 5, 5), (reason, delta, after)]


def test_a_change_below_zero_is_refused_and_nothing_changes(variant):
    with pytest.raises(InsufficientStock) as error:
        stock_adjust(variant_id=variant.pk, delta=-6, reason="damaged", actor=CLERK)
    assert error.value.details == {
        "location": "MAIN",
        "lines": [
            {
                "variant": variant.pk,
                "sku": variant.sku,
                "location": "MAIN",
                "requested": 6,
                "available": 5,
            }
        ],
    }
    assert _quantity(variant) == 5
    assert _ledger(variant) == [("initial", 5, 5)]


@pytest.mark.parametrize(
    ("delta", "reason", "field"),
    [
        (1, "sale", "reason"),
        (1, "order_cancelled", "reason"),
        (1, "initial", "reason"),
        (1, "count_correction", "reason"),
        (-1, "received", "delta"),
        (-1, "returned", "delta"),
        (1, "damaged", "delta"),
        (1, "lost", "delta"),
        (0, "correction", "delta"),
    ],
)
def test_reasons_a_caller_may_not_give_or_that_contradict_the_change(variant, delta, reason, field):
    with pytest.raises(ValidationError) as error:
        stock_adjust(variant_id=variant.pk, delta=delta, reason=reason, actor=CLERK)
    assert list(error.value.message_dict) == [field]
    assert _ledger(variant) == [("initial", 5, 5)]


def test_stock_count_records_the_difference(variant):
    down = stock_count(variant_id=variant.pk, quantity=3, actor=CLERK, note="shelf A")
    same = stock_count(variant_id=variant.pk, quantity=3, expected_quantity=3, actor=CLERK)
    up = stock_count(variant_id=variant.pk, quantity=9, actor=CLERK)
    assert [(m.delta, m.quantity_after) for m in (down, same, up)] == [(-2, 3), (0, 3), (6, 9)]
    assert _quantity(variant) == 9
    assert {m.reason for m in (down, same, up)} == {"count_correction"}


def test_a_count_against_a_quantity_that_changed_is_refused(variant):
    stock_adjust(variant_id=variant.pk, delta=2, reason="received", actor=CLERK)
    with pytest.raises(StockCountMismatch) as error:
        stock_count(variant_id=variant.pk, quantity=4, expected_quantity=5, actor=CLERK)
    assert error.value.details == {"location": "MAIN", "expected_quantity": 5, "quantity": 7}
    assert _quantity(variant) == 7
    assert len(_ledger(variant)) == 2


def test_stock_apply_is_all_or_nothing_and_names_every_short_line(make_product):
    product = make_product(stock={"S-M": 2, "L-XL": 1, "One Size": 9})
    small, large, one = (product.variants.get(size=s) for s in ("S-M", "L-XL", "One Size"))
    with pytest.raises(InsufficientStock) as error:
        stock_apply(
            changes=[
                StockChange(variant_id=one.pk, delta=-1),
                StockChange(variant_id=small.pk, delta=-3),
                StockChange(variant_id=large.pk, delta=-2),
            ],
            reason="sale",
            actor=CLERK,
            reference="ORD-1",
        )
    assert error.value.details["location"] == "MAIN"
    assert sorted(error.value.details["lines"], key=lambda line: line["variant"]) == [
        {"variant": small.pk, "sku": small.sku, "location": "MAIN", "requested": 3, "available": 2},
        {"variant": large.pk, "sku": large.sku, "location": "MAIN", "requested": 2, "available": 1},
    ]
    assert [_quantity(v) for v in (small, large, one)] == [2, 1, 9]
    assert StockMovement.objects.filter(reason="sale").count() == 0

    movements = stock_apply(
        changes=[
            StockChange(variant_id=one.pk, delta=-1),
            StockChange(variant_id=small.pk, delta=-2),
        ],
        reason="sale",
        actor=CLERK,
        reference="ORD-2",
    )
    assert sorted((m.variant_id, m.delta, m.quantity_after) for m in movements) == sorted(
        [(one.pk, -1, 8), (small.pk, -2, 0)]
    )
    assert {m.reference for m in movements} == {"ORD-2"}


def test_a_failure_while_writing_the_ledger_leaves_the_quantity_unchanged(variant, monkeypatch):
    def broken(*args, **kwargs):
        raise DatabaseError("disk full")

    monkeypatch.setattr(StockMovement.objects, "bulk_create", broken)
    with pytest.raises(DatabaseError):
        stock_adjust(variant_id=variant.pk, delta=3, reason="received", actor=CLERK)
    monkeypatch.undo()
    assert _quantity(variant) == 5
    assert _ledger(variant) == [("initial", 5, 5)]


def test_movements_are_append_only_in_the_database(variant):
    movement = variant.movements.get()
    with pytest.raises((IntegrityError, DatabaseError), match="append-only"), transaction.atomic():
        StockMovement.objects.filter(pk=movement.pk).update(delta=99)
    with pytest.raises((IntegrityError, DatabaseError), match="append-only"), transaction.atomic():
        StockMovement.objects.filter(pk=movement.pk).delete()
    with (
        pytest.raises((IntegrityError, DatabaseError), match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("DELETE FROM catalog_stockmovement")
    assert _ledger(variant) == [("initial", 5, 5)]


def test_a_variant_or_product_with_history_cannot_be_deleted(variant):
    stock_adjust(variant_id=variant.pk, delta=-5, reason="lost", actor=CLERK)
    assert _quantity(variant) == 0
    with pytest.raises(Protected) as error:
        services.variant_delete(variant=variant)
    assert "stock history" in error.value.message
    with pytest.raises(Protected) as error:
        services.product_delete(product=variant.product)
    assert error.value.details == {"variants_with_history": [variant.sku]}
    assert Variant.objects.filter(pk=variant.pk).exists()


def test_the_movement_records_who_acted(variant, manager, make_key):
    from core.actors import user_actor

    movement = stock_adjust(
        variant_id=variant.pk, delta=1, reason="received", actor=user_actor(manager)
    )
    assert (movement.actor_kind, movement.actor, movement.user_id) == (
        "user",
        "manager",
        manager.pk,
    )


def test_notes_longer_than_the_ledger_keeps_are_refused(variant):
    with pytest.raises(ValidationError) as error:
        stock_adjust(variant_id=variant.pk, delta=1, reason="received", actor=CLERK, note="x" * 501)
    assert list(error.value.message_dict) == ["note"]
    assert _quantity(variant) == 5


def test_the_ledger_adds_up_after_many_changes(variant):
    for delta, reason in [(3, "received"), (-2, "damaged"), (1, "returned"), (-4, "correction")]:
        stock_adjust(variant_id=variant.pk, delta=delta, reason=reason, actor=CLERK)
    stock_count(variant_id=variant.pk, quantity=10, actor=CLERK)
    total = variant.movements.aggregate(total=Sum("delta"))["total"]
    assert _quantity(variant) == total == 10


def test_seed_demo_records_its_movements_as_the_system(db):
    call_command("seed_demo", stdout=StringIO())
    assert set(StockMovement.objects.values_list("actor_kind", "actor", "reason")) == {
        ("system", "seed_demo", "initial")
    }
    call_command("reconcile_stock", stdout=StringIO())


def test_system_actor_names_the_command():
    assert str(system_actor("seed_demo")) == "system:seed_demo"


def test_a_quantity_above_the_maximum_is_refused_by_the_service(variant):
    from catalog.validators import MAX_QUANTITY

    with pytest.raises(ValidationError) as adjusted:
        stock_adjust(variant_id=variant.pk, delta=MAX_QUANTITY, reason="received", actor=CLERK)
    with pytest.raises(ValidationError) as counted:
        stock_count(variant_id=variant.pk, quantity=MAX_QUANTITY + 1, actor=CLERK)
    assert list(adjusted.value.message_dict) == ["delta"]
    assert list(counted.value.message_dict) == ["quantity"]
    assert _quantity(variant) == 5
    assert _ledger(variant) == [("initial", 5, 5)]


def test_a_variant_may_appear_once_in_a_stock_change(variant):
    with pytest.raises(ValidationError):
        stock_apply(
            changes=[StockChange(variant_id=variant.pk, delta=-1)] * 2, reason="sale", actor=CLERK
        )
    assert _quantity(variant) == 5


def test_a_sale_finds_and_locks_its_variants_at_once_then_takes_their_stock(
    make_product, django_assert_num_queries
):
    product = make_product(stock={"S-M": 5, "L-XL": 3, "One Size": 1})
    small, large, one = (product.variants.get(size=s) for s in ("S-M", "L-XL", "One Size"))
    recorded = []

    def record_sale(variants, location):
        recorded.append(([(variant.pk, variant.product.name) for variant in variants], location))
        return "SO-TEST"

    lines = [
        LineRequest(variant_id=small.pk, quantity=2),
        LineRequest(sku=large.sku.lower(), quantity=3),
    ]
    # The default location; one query finds the variants by id or SKU with their products and
    # locks them; their levels there; the UPDATEs of levels and variants and the INSERT of
    # movements follow; then the events (the pending ones of the levels, none here; the
    # INSERT of the levels' and the crossings' events; their task); no lock is taken twice.
    Event.objects.update(dispatched_at=timezone.now())
    with transaction.atomic(), django_assert_num_queries(9):
        movements = stock_sell(lines=lines, actor=CLERK, record_sale=record_sale)
    # The caller records the sale with the variants in its lines' order, products come along,
    # and the location the units are committed at.
    assert recorded == [([(small.pk, product.name), (large.pk, product.name)], location_default())]
    assert [(m.variant_id, m.reference) for m in movements] == [
        (small.pk, "SO-TEST"),
        (large.pk, "SO-TEST"),
    ]
    # Placed, not picked: the units are committed and still on the shelf.
    assert (_quantity(small), _quantity(large), _quantity(one)) == (3, 0, 1)
    assert [Variant.objects.get(pk=v.pk).committed for v in (small, large, one)] == [2, 3, 0]
    assert _ledger(large)[-1] == ("order_placed", 0, 3)
    assert (movements[1].committed_delta, movements[1].committed_after) == (3, 3)


def test_a_sale_and_the_lock_need_the_callers_transaction(variant):
    from unittest import mock

    def record_sale(variants, location):
        raise AssertionError("not reached")

    line = LineRequest(variant_id=variant.pk, quantity=1)
    with mock.patch.object(transaction.get_connection(), "in_atomic_block", False):
        with pytest.raises(RuntimeError):
            stock_sell(lines=[line], actor=CLERK, record_sale=record_sale)
        with pytest.raises(RuntimeError):
            stock_lock(ids=[variant.pk])
    assert _quantity(variant) == 5
