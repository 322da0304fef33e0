"""Applying an import: once, all or nothing, only as previewed; the queries it costs, and
applying under concurrency."""

from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog import services
from catalog.models import ImportBatch, ImportBatchStatus, Variant
from catalog.tests.support import race
from core.actors import user_actor
from stock.imports import ImportRefused, apply, import_apply, import_batch_create, import_preview
from stock.ledger import StockChange
from stock.models import StockMovement
from stock.services import stock_apply
from stock.tests.import_support import (
    ACTOR,
    HEADER,
    csv_bytes,
    new_row,
    preview_and_store,
    snapshot,
)

pytestmark = pytest.mark.django_db


# Applying: once, all or nothing, only as previewed


def test_a_batch_is_applied_once_only():
    batch = preview_and_store(csv_bytes(new_row(received="2")))
    import_apply(batch=batch, actor=ACTOR)
    after = snapshot()
    with pytest.raises(ImportRefused, match="applied already"):
        import_apply(batch=ImportBatch.objects.get(pk=batch.pk), actor=ACTOR)
    with pytest.raises(ImportRefused, match="applied already"):
        import_apply(batch=batch, actor=ACTOR)  # a stale copy too: the database decides
    assert snapshot() == after


def test_a_sku_taken_since_the_preview_refuses_the_whole_import(make_product):
    batch = preview_and_store(csv_bytes(new_row("A", received="1"), new_row("B", size="L-XL")))
    other = make_product(name="Linen Tee", color="Sand", collection="SS25", stock={})
    services.variant_create(product=other, size="S-M", sku="B", actor=ACTOR)
    before = snapshot()

    with pytest.raises(ImportRefused) as refused:
        import_apply(batch=batch, actor=ACTOR)

    assert snapshot() == before
    assert sorted(refused.value.details["rows"]) == [
        "row 2, size: This product has size S-M already, as SKU B.",
        "row 3, size: SKU B is size S-M; a variant's size never changes.",
    ]
    batch.refresh_from_db()
    assert batch.status == ImportBatchStatus.PREVIEWED  # may be previewed again, not applied


def test_a_count_refused_when_the_quantity_moved_since_the_preview(make_product):
    variant = make_product(stock={"S-M": 5}).variants.get()
    batch = preview_and_store(csv_bytes(f"{variant.sku},,,,,,,,,4"))
    stock_apply(changes=[StockChange(variant_id=variant.pk, delta=-1)], reason="sale", actor=ACTOR)
    before = snapshot()

    with pytest.raises(ImportRefused) as refused:
        import_apply(batch=batch, actor=ACTOR)

    assert snapshot() == before
    assert refused.value.details["rows"] == [
        f"row 2 (SKU {variant.sku}): the preview said stock counted to 4 at MAIN (was 5, -1), "
        "now it would be stock counted to 4 at MAIN (was 4, +0)."
    ]


def test_a_delivery_still_applies_after_a_sale(make_product):
    variant = make_product(stock={"S-M": 5}).variants.get()
    batch = preview_and_store(csv_bytes(f"{variant.sku},,,,,,,,3,"))
    stock_apply(changes=[StockChange(variant_id=variant.pk, delta=-1)], reason="sale", actor=ACTOR)
    import_apply(batch=batch, actor=ACTOR)
    variant.refresh_from_db()
    assert variant.quantity == 7


def test_a_failure_while_writing_changes_nothing(make_product, monkeypatch):
    variant = make_product(stock={"S-M": 5}).variants.get()
    batch = preview_and_store(csv_bytes(new_row("NEW", received="2"), f"{variant.sku},,,,,,,,3,"))
    before = snapshot()

    def broken(**kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(apply, "stock_apply", broken)
    with pytest.raises(RuntimeError):
        import_apply(batch=batch, actor=ACTOR)

    assert snapshot() == before
    batch.refresh_from_db()
    assert batch.status == ImportBatchStatus.PREVIEWED


# Queries: a fixed number, however many rows


def _rows(count: int, *, start: int = 0) -> bytes:
    sizes = ["S-M", "L-XL"]
    return csv_bytes(
        *(
            new_row(f"Q{n}", product=f"Tee {n // 2}", size=sizes[n % 2], received=str(n % 3 + 1))
            for n in range(start, start + count)
        )
    )


def _counts(data: bytes) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as preview_queries:
        preview = import_preview(data=data)
        batch = import_batch_create(preview=preview)
    with CaptureQueriesContext(connection) as apply_queries:
        import_apply(batch=ImportBatch.objects.get(pk=batch.pk), actor=ACTOR)
    return len(preview_queries), len(apply_queries)


def test_queries_do_not_grow_with_rows(make_product):
    small = _counts(_rows(4))
    large = _counts(_rows(40, start=100))
    assert small == large
    # And for known SKUs: received stock and a changed price.
    known = Variant.objects.filter(sku__startswith="Q1").values_list("sku", flat=True)
    lines = [f"{sku},,,,,31.00,,,2," for sku in known]
    header = HEADER
    assert _counts(csv_bytes(*lines[:4], header=header)) == _counts(
        csv_bytes(*lines[4:], header=header)
    )
    call_command("reconcile_stock", stdout=StringIO())


def test_the_numbers_of_queries_are_pinned(django_assert_num_queries):
    # Preview: the file's variants by SKU, the products of its collections, the SKUs issued
    # before, the locations, and the batch's INSERT. (New SKUs only: no levels to read.)
    with django_assert_num_queries(5):
        batch = import_batch_create(preview=import_preview(data=_rows(6)))
    batch = ImportBatch.objects.get(pk=batch.pk)
    # Apply: savepoint, the imports of the same content applied before, savepoint, the claim,
    # release, the same four reads (locking), savepoint, products, SKUs, variants, the opening
    # location read and key-share locked, opening levels and opening movements inserted, the
    # levels' events inserted (new levels: none pending to look for) and their task, both
    # savepoints released.
    with django_assert_num_queries(20):
        import_apply(batch=batch, actor=ACTOR)


# Concurrency (PostgreSQL)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_concurrent_applies_apply_once():
    batch = preview_and_store(csv_bytes(new_row(received="2")))

    outcomes = race([lambda: import_apply(batch=batch, actor=ACTOR)] * 2)

    assert sorted(type(outcome).__name__ for outcome in outcomes) == ["ImportRefused", "dict"]
    assert Variant.objects.get(sku="NEW-1").quantity == 2
    assert StockMovement.objects.count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_an_import_and_concurrent_sales_keep_the_ledger(make_product):
    variants = [make_product(name=f"P{n}", stock={"S-M": 50}).variants.get() for n in range(5)]
    batch = preview_and_store(csv_bytes(*(f"{v.sku},,,,,,,,10," for v in variants)))

    def sell():
        for variant in reversed(variants):
            stock_apply(
                changes=[StockChange(variant_id=variant.pk, delta=-1)], reason="sale", actor=ACTOR
            )

    outcomes = race([lambda: import_apply(batch=batch, actor=ACTOR), sell, sell])

    assert not [o for o in outcomes if isinstance(o, Exception)]
    assert sorted(Variant.objects.values_list("quantity", flat=True)) == [58] * 5
    call_command("reconcile_stock", stdout=StringIO())


def test_the_actor_may_be_any_user(db):
    user = User.objects.create_user("clerk2", is_staff=True)
    batch = preview_and_store(csv_bytes(new_row(counted="3")))
    import_apply(batch=batch, actor=user_actor(user))
    movement = StockMovement.objects.get()
    assert (movement.reason, movement.actor, movement.user) == ("initial", "clerk2", user)
