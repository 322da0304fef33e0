"""The migration that introduced the ledger explains the stock that existed before it."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("catalog", "0002_staff_groups")]
LEDGER = [("catalog", "0003_stock_ledger")]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_existing_variants_get_their_opening_movement():
    executor = MigrationExecutor(connection)
    latest = executor.loader.graph.leaf_nodes()
    executor.migrate(BEFORE)
    try:
        old = executor.loader.project_state(BEFORE).apps
        product = old.get_model("catalog", "Product").objects.create(
            category="Tees", name="Tee", color="Black", price="10.00", collection="FW24"
        )
        variant_model = old.get_model("catalog", "Variant")
        stocked = variant_model.objects.create(
            product=product, size="S-M", sku="OLD-SM", quantity=4
        )
        empty = variant_model.objects.create(
            product=product, size="L-XL", sku="OLD-LXL", quantity=0
        )

        executor = MigrationExecutor(connection)
        executor.migrate(LEDGER)

        new = executor.loader.project_state(LEDGER).apps
        movements = new.get_model("catalog", "StockMovement").objects.all()
        assert list(
            movements.values_list("variant_id", "reason", "delta", "quantity_after", "actor")
        ) == [(stocked.pk, "initial", 4, 4, "migration")]
        assert not movements.filter(variant_id=empty.pk).exists()
    finally:
        # Back before the ledger, without the test's rows, and forward again: the ledger comes
        # back empty, as the test database's flush (it deletes rows, which the append-only
        # trigger refuses) needs.
        executor = MigrationExecutor(connection)
        executor.migrate(BEFORE)
        executor.loader.project_state(BEFORE).apps.get_model(
            "catalog", "Product"
        ).objects.all().delete()
        MigrationExecutor(connection).migrate(latest)
