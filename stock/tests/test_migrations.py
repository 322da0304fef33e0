"""The ledger's model moved from the catalog app to this one without a row copied or lost."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from stock.models import StockMovement

# The catalog's last state with the ledger in it, and the stock app not yet there.
CATALOG_LEDGER = [("catalog", "0006_import_content_hash")]
IN_CATALOG = [*CATALOG_LEDGER, ("stock", None)]
MOVED = [("catalog", "0007_stockmovement_moves_to_stock")]
# Before the ledger existed: going back there drops its table, rows and all.
BEFORE_LEDGER = [("catalog", "0002_staff_groups")]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_ledger_keeps_its_rows_and_its_permissions_when_its_model_moves():
    executor = MigrationExecutor(connection)
    latest = executor.loader.graph.leaf_nodes()
    executor.migrate(IN_CATALOG)
    try:
        old = executor.loader.project_state(CATALOG_LEDGER).apps
        product = old.get_model("catalog", "Product").objects.create(
            category="Tees", name="Tee", color="Black", price="10.00", collection="FW24"
        )
        variant = old.get_model("catalog", "Variant").objects.create(
            product=product, size="S-M", sku="OLD-SM", quantity=3
        )
        movements = old.get_model("catalog", "StockMovement").objects
        rows = [
            movements.create(
                variant=variant,
                product=product,
                delta=5,
                quantity_after=5,
                reason="initial",
                actor_kind="system",
                actor="import",
            ),
            movements.create(
                variant=variant,
                product=product,
                delta=-2,
                quantity_after=3,
                reason="damaged",
                actor_kind="user",
                actor="ana",
                note="Torn seam",
            ),
        ]
        view_ledger = old.get_model("auth", "Permission").objects.get(
            content_type__app_label="catalog", codename="view_stockmovement"
        )
        assert (
            old.get_model("auth", "Group")
            .objects.filter(name="Store staff", permissions=view_ledger)
            .exists()
        )

        executor = MigrationExecutor(connection)
        executor.migrate(MOVED)

        # The same rows, read through the model's new home, from the same table.
        assert StockMovement._meta.db_table == "catalog_stockmovement"
        new = MigrationExecutor(connection).loader.project_state(MOVED).apps
        moved = new.get_model("stock", "StockMovement").objects.order_by("pk")
        assert list(moved.values_list("pk", "variant_id", "delta", "reason", "actor", "note")) == [
            (rows[0].pk, variant.pk, 5, "initial", "import", ""),
            (rows[1].pk, variant.pk, -2, "damaged", "ana", "Torn seam"),
        ]
        # The permission is the same row, now the stock app's, and the groups still hold it.
        permission = Permission.objects.get(pk=view_ledger.pk)
        assert permission.content_type.app_label == "stock"
        assert permission.content_type.model_class() is StockMovement
        assert Group.objects.get(name="Store staff").permissions.filter(pk=permission.pk).exists()
        assert not Permission.objects.filter(
            content_type__app_label="catalog", codename="view_stockmovement"
        ).exists()

        # And back: the catalog's state again, rows and permission with it.
        executor = MigrationExecutor(connection)
        executor.migrate(IN_CATALOG)
        back = MigrationExecutor(connection).loader.project_state(CATALOG_LEDGER).apps
        assert back.get_model("catalog", "StockMovement").objects.count() == 2
        assert Permission.objects.get(pk=view_ledger.pk).content_type.app_label == "catalog"
    finally:
        # Back before the ledger (which drops its table and the test's rows: the append-only
        # trigger refuses a delete), without the test's products, and forward again.
        executor = MigrationExecutor(connection)
        executor.migrate(BEFORE_LEDGER)
        executor.loader.project_state(BEFORE_LEDGER).apps.get_model(
            "catalog", "Product"
        ).objects.all().delete()
        MigrationExecutor(connection).migrate(latest)
