"""Stock in places and states: the migrations that turn one number per variant into a level at
MAIN keep every unit, commit what open orders hold, leave the ledger reconciled and
append-only, and can be undone and done again."""

from decimal import Decimal
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from catalog.models import Variant
from orders.models import Order
from stock.models import Location, StockLevel, StockMovement

# The state before locations: one quantity per variant, taken off at placement.
BEFORE = [
    ("catalog", "0007_stockmovement_moves_to_stock"),
    ("stock", "0001_initial"),
    ("orders", "0004_sales_report_indexes"),
]
# Before the ledger existed: going back there drops its table, rows and all.
BEFORE_LEDGER = [("catalog", "0002_staff_groups")]
MIGRATION_ACTOR = "locations migration"


def _build_old_shop(apps: Any) -> dict[str, Any]:
    """Variants, their ledgers and orders in every status, as the old model wrote them: an
    order's units left the variant's quantity at placement (its ``sale``), a cancellation put
    them back, a return restocked. Returns the variants by letter and the orders by status."""
    user = apps.get_model("auth", "User").objects.create(username="ana", is_staff=True)
    product_model = apps.get_model("catalog", "Product")
    variant_model = apps.get_model("catalog", "Variant")
    movement_model = apps.get_model("stock", "StockMovement")
    order_model = apps.get_model("orders", "Order")
    line_model = apps.get_model("orders", "OrderLine")

    tee = product_model.objects.create(
        category="Tees", name="Tee", color="Black", price="10.00", collection="FW24"
    )
    pant = product_model.objects.create(
        category="Pants", name="Pant", color="Navy", price="30.00", collection="FW24"
    )
    # a: busy; b: open orders hold more than is left; c: untouched; d: sold out; e: never stocked
    specs = {
        "a": (tee, "S-M", 11),
        "b": (tee, "L-XL", 1),
        "c": (pant, "S-M", 6),
        "d": (pant, "L-XL", 0),
        "e": (pant, "One Size", 0),
    }
    variants = {
        key: variant_model.objects.create(
            product=product, size=size, sku=f"OLD-{key.upper()}", quantity=quantity
        )
        for key, (product, size, quantity) in specs.items()
    }
    running = dict.fromkeys(variants, 0)

    def move(key: str, delta: int, reason: str, reference: str = "") -> None:
        running[key] += delta
        variant = variants[key]
        movement_model.objects.create(
            variant=variant,
            product_id=variant.product_id,
            delta=delta,
            quantity_after=running[key],
            reason=reason,
            actor_kind="user",
            actor="ana",
            user=user,
            reference=reference,
        )

    now = timezone.now()
    stamps = {
        "placed": {},
        "paid": {"paid_at": now},
        "cancelled": {"cancelled_at": now},
        "fulfilled": {"paid_at": now, "fulfilled_at": now},
        "returned": {"paid_at": now, "fulfilled_at": now},
    }
    orders = {}
    for status, number in [
        ("placed", "SO-PLACED"),
        ("paid", "SO-PAID"),
        ("cancelled", "SO-CANCELLED"),
        ("fulfilled", "SO-FULFILLED"),
        ("returned", "SO-RETURNED"),
    ]:
        orders[status] = order_model.objects.create(
            number=number,
            status="fulfilled" if status == "returned" else status,
            currency="EUR",
            total=Decimal("0.00"),
            user=user,
            placed_by="ana",
            **stamps[status],
        )

    def line(status: str, key: str, quantity: int, returned: int = 0) -> Any:
        variant = variants[key]
        return line_model.objects.create(
            order=orders[status],
            variant=variant,
            sku=variant.sku,
            product_name=variant.product.name,
            size=variant.size,
            quantity=quantity,
            unit_price=variant.product.price,
            returned_quantity=returned,
        )

    move("a", 10, "initial")
    move("a", 5, "received")
    move("b", 4, "initial")
    move("c", 6, "initial")
    move("d", 2, "initial")
    line("placed", "a", 2)
    move("a", -2, "sale", "SO-PLACED")
    line("paid", "a", 1)
    line("paid", "b", 3)
    move("a", -1, "sale", "SO-PAID")
    move("b", -3, "sale", "SO-PAID")
    line("cancelled", "a", 3)
    move("a", -3, "sale", "SO-CANCELLED")
    move("a", 3, "order_cancelled", "SO-CANCELLED")
    line("fulfilled", "d", 2)
    move("d", -2, "sale", "SO-FULFILLED")
    returned = line("returned", "a", 2, returned=1)
    move("a", -2, "sale", "SO-RETURNED")
    move("a", 1, "returned", "SO-RETURNED")
    order_return = apps.get_model("orders", "OrderReturn").objects.create(
        order=orders["returned"], refund_total=Decimal("10.00"), recorded_by="ana"
    )
    apps.get_model("orders", "OrderReturnLine").objects.create(
        order_return=order_return, line=returned, quantity=1, refund_amount=Decimal("10.00")
    )
    # The ledger sums to every quantity, as the old reconcile_stock proved.
    assert running == {key: quantity for key, (_, _, quantity) in specs.items()}
    return {"variants": {k: v.pk for k, v in variants.items()}, "orders": orders}


def _old_state(apps: Any) -> tuple[list[Any], list[Any], list[Any]]:
    """What the old model holds: quantities, the ledger, the orders' statuses and lines."""
    return (
        list(
            apps.get_model("catalog", "Variant")
            .objects.order_by("pk")
            .values_list("pk", "quantity")
        ),
        list(
            apps.get_model("stock", "StockMovement")
            .objects.order_by("pk")
            .values_list("pk", "variant_id", "delta", "quantity_after", "reason", "reference")
        ),
        list(
            apps.get_model("orders", "OrderLine")
            .objects.order_by("pk")
            .values_list(
                "order__number", "order__status", "variant_id", "quantity", "returned_quantity"
            )
        ),
    )


def _assert_migrated(shop: dict[str, Any], old_movements: list[Any]) -> None:
    """Every figure after the migrations, read through today's models."""
    v = shop["variants"]
    # One location, MAIN, the default
    assert list(
        Location.objects.values_list("code", "name", "kind", "is_active", "is_default")
    ) == [("MAIN", "Main stock", "warehouse", True, True)]
    main = Location.objects.get(is_default=True)
    # A level at MAIN for every variant with stock or history: available is the old quantity,
    # committed the units of its open (placed, paid) orders, on hand both
    levels = StockLevel.objects.order_by("variant_id").values_list(
        "variant_id", "location_id", "on_hand", "committed"
    )
    assert list(levels) == [
        (v["a"], main.pk, 11 + 2 + 1, 2 + 1),
        (v["b"], main.pk, 1 + 3, 3),
        (v["c"], main.pk, 6, 0),
        (v["d"], main.pk, 0, 0),
    ]
    # and the variants' totals are the levels' (e never held stock: no level, nothing)
    assert list(Variant.objects.order_by("pk").values_list("pk", "quantity", "committed")) == [
        (v["a"], 11, 3),
        (v["b"], 1, 3),
        (v["c"], 6, 0),
        (v["d"], 0, 0),
        (v["e"], 0, 0),
    ]
    # Every old movement is as it was, at MAIN, with nothing committed
    last_old = old_movements[-1][0]
    old = StockMovement.objects.filter(pk__lte=last_old).order_by("pk")
    assert (
        list(old.values_list("pk", "variant_id", "delta", "quantity_after", "reason", "reference"))
        == old_movements
    )
    assert set(old.values_list("location_id", "committed_delta", "committed_after")) == {
        (main.pk, 0, 0)
    }
    # and each open line has two new ones: its units back on hand, then committed
    new = StockMovement.objects.filter(pk__gt=last_old).order_by("pk")
    assert list(
        new.values_list(
            "variant_id",
            "location_id",
            "reason",
            "delta",
            "quantity_after",
            "committed_delta",
            "committed_after",
            "reference",
            "actor_kind",
            "actor",
        )
    ) == [
        (v["a"], main.pk, "correction", 2, 13, 0, 0, "SO-PLACED", "system", MIGRATION_ACTOR),
        (v["a"], main.pk, "order_placed", 0, 13, 2, 2, "SO-PLACED", "system", MIGRATION_ACTOR),
        (v["a"], main.pk, "correction", 1, 14, 0, 2, "SO-PAID", "system", MIGRATION_ACTOR),
        (v["a"], main.pk, "order_placed", 0, 14, 1, 3, "SO-PAID", "system", MIGRATION_ACTOR),
        (v["b"], main.pk, "correction", 3, 4, 0, 0, "SO-PAID", "system", MIGRATION_ACTOR),
        (v["b"], main.pk, "order_placed", 0, 4, 3, 3, "SO-PAID", "system", MIGRATION_ACTOR),
    ]
    # Every order happened at MAIN, in the status it had
    assert list(Order.objects.order_by("pk").values_list("number", "status", "location_id")) == [
        ("SO-PLACED", "placed", main.pk),
        ("SO-PAID", "paid", main.pk),
        ("SO-CANCELLED", "cancelled", main.pk),
        ("SO-FULFILLED", "fulfilled", main.pk),
        ("SO-RETURNED", "fulfilled", main.pk),
    ]
    # The ledger reconciles: levels, totals and open orders' commitments (raises if not)
    out = StringIO()
    call_command("reconcile_stock", stdout=out, stderr=StringIO())
    assert out.getvalue().startswith("OK: 5 variant(s) at 4 stock level(s)")
    # and it is append-only again
    with (
        pytest.raises((IntegrityError, DatabaseError), match="append-only"),
        transaction.atomic(),
    ):
        StockMovement.objects.filter(pk=old_movements[0][0]).update(note="rewritten")


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_one_number_per_variant_becomes_a_level_at_main_and_back() -> None:
    executor = MigrationExecutor(connection)
    latest = executor.loader.graph.leaf_nodes()
    executor.migrate(BEFORE)
    try:
        # Given a shop as the old model kept it
        old = executor.loader.project_state(BEFORE).apps
        shop = _build_old_shop(old)
        before = _old_state(old)

        # When the migrations run
        MigrationExecutor(connection).migrate(latest)

        # Then every unit is where it was, the open orders' units committed
        _assert_migrated(shop, before[1])

        # When they are undone
        executor = MigrationExecutor(connection)
        executor.migrate(BEFORE)

        # Then the old model holds exactly what it held (the migration's movements go)
        back = MigrationExecutor(connection).loader.project_state(BEFORE).apps
        assert _old_state(back) == before

        # and done again, they give the same result
        MigrationExecutor(connection).migrate(latest)
        _assert_migrated(shop, before[1])
    finally:
        # Back before the ledger (which drops its table and the test's rows: the append-only
        # trigger refuses the test database's flush on SQLite), without the test's products,
        # and forward again.
        executor = MigrationExecutor(connection)
        executor.migrate(BEFORE_LEDGER)
        executor.loader.project_state(BEFORE_LEDGER).apps.get_model(
            "catalog", "Product"
        ).objects.all().delete()
        MigrationExecutor(connection).migrate(latest)
