"""manage.py seed_demo says truthfully what it did and found, and `seed_demo --reset` starts the
demo over on SQLite and on PostgreSQL: the database as `migrate` and the first seeding left it,
with its append-only ledger."""

import os
import subprocess
import sys
from io import StringIO

import pytest
from django.contrib.auth.models import Group, User
from django.core.management import CommandError, call_command
from django.db import DatabaseError, IntegrityError, connection, transaction

from catalog import services
from catalog.management.commands import seed_demo
from catalog.models import IssuedSku, Product, Variant
from catalog.tests.support import commit_callbacks
from catalog.versions import current as catalog_version
from core.actors import system_actor, user_actor
from core.api.key_cache import KEYS_VERSION
from core.api.services import api_key_create
from inventory_project.tests.support import ROOT
from orders.services import LineRequest, order_place
from stock import services as stock_services
from stock.imports import import_batch_create, import_preview
from stock.models import StockMovement
from stock.tests.import_support import SAMPLE

ACTOR = system_actor("test")


def run(*args: str) -> list[str]:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue().splitlines()


def table_rows() -> dict[str, int]:
    """Every table's number of rows."""
    with connection.cursor() as cursor:
        counts = {}
        for table in connection.introspection.django_table_names(only_existing=True):
            cursor.execute(f"SELECT COUNT(*) FROM {connection.ops.quote_name(table)}")
            counts[table] = cursor.fetchone()[0]
    return counts


def demo_catalog() -> list[tuple[object, ...]]:
    return list(
        Variant.objects.order_by("pk").values_list(
            "sku", "barcode", "quantity", "product__name", "product__is_active"
        )
    )


def staff_groups() -> dict[str, set[str]]:
    return {
        group.name: set(group.permissions.values_list("codename", flat=True))
        for group in Group.objects.all()
    }


# What seed_demo says


@pytest.mark.django_db
def test_seed_demo_says_what_became_of_demo_products_changed_since():
    assert run() == ["Demo catalog: 13 product(s) created, 0 already there."]
    # Since then: a product deleted, a size deleted, a product archived
    services.product_delete(product=Product.objects.get(variants__sku="DEMO-013-OS"))
    services.variant_delete(variant=Variant.objects.get(sku="DEMO-003-SM"))
    services.product_update(
        product=Product.objects.get(variants__sku="DEMO-012-SM"), data={"is_active": False}
    )
    before = demo_catalog()

    assert run() == [
        "Demo catalog: 0 product(s) created, 12 already there, 1 deleted since seeded.",
        "Deleted since seeded (the product or all its sizes), not created again as SKUs are "
        "never reused: Drawstring Linen Pant (Sand, SS25).",
        "Archived since seeded, left archived: Cargo Pant (Olive, FW25).",
        "Sizes deleted since seeded, not created again: Boxy Pocket Tee (Sage, SS25): DEMO-003-SM.",
        "To start the demo over: manage.py seed_demo --reset.",
    ]
    assert demo_catalog() == before


@pytest.mark.django_db
def test_seed_demo_creates_what_was_never_seeded():
    run()
    # A database seeded by an older demo that lacked a product: only that one is created.
    services.variant_delete(variant=Variant.objects.get(sku="DEMO-013-OS"))
    IssuedSku.objects.filter(sku="DEMO-013-OS").delete()

    assert run() == ["Demo catalog: 1 product(s) created, 12 already there."]
    assert Variant.objects.filter(sku="DEMO-013-OS").exists()


# The reset


@pytest.mark.django_db
def test_the_reset_is_refused_with_debug_off():
    run()
    before = table_rows()
    with pytest.raises(CommandError, match="runs only with DEBUG on"):
        run("--reset", "--no-input")
    assert table_rows() == before


@pytest.mark.django_db
def test_the_reset_asks_first(settings, monkeypatch):
    settings.DEBUG = True
    run()
    services.product_delete(product=Product.objects.get(variants__sku="DEMO-013-OS"))
    before = table_rows()
    questions = []

    def answer(text):
        return lambda question: questions.append(question) or text

    monkeypatch.setattr("builtins.input", answer("no"))
    with pytest.raises(CommandError, match=r"^Reset cancelled; nothing was changed\.$"):
        run("--reset")
    assert table_rows() == before
    assert questions[0].startswith(
        f"This deletes everything in the database {connection.settings_dict['NAME']}"
    )

    # (The reset itself has its tests below, each on its engine.)
    monkeypatch.setattr(seed_demo, "demo_database_flush", lambda: questions.append("flushed"))
    monkeypatch.setattr("builtins.input", answer("yes"))
    run("--reset")
    assert questions[-1] == "flushed"


def _changes_since_seeding(manager: User) -> None:
    """A day of use: sales, a delivery, an import, a deleted product, users and keys."""
    order_place(lines=[LineRequest(sku="DEMO-001-SM", quantity=2)], actor=user_actor(manager))
    stock_services.stock_adjust(
        variant_id=Variant.objects.get(sku="DEMO-002-SM").pk,
        delta=5,
        reason="received",
        actor=ACTOR,
    )
    import_batch_create(preview=import_preview(data=SAMPLE.read_bytes()))
    services.product_delete(product=Product.objects.get(variants__sku="DEMO-013-OS"))
    User.objects.create_user("clerk2", is_staff=True)
    api_key_create(name="pos", scopes=["orders:write"])


def _the_reset_starts_the_demo_over(settings) -> None:
    # Given the database as `migrate` and the first seeding leave it, and a day of use since
    groups = staff_groups()
    run()
    fresh, demo = table_rows(), demo_catalog()
    manager = User.objects.create_user("manager2", is_staff=True)
    manager.groups.add(Group.objects.get(name="Manager"))
    _changes_since_seeding(manager)
    assert table_rows() != fresh

    commit_callbacks()
    versions_before = (catalog_version(), KEYS_VERSION.current())

    # When the demo is reset
    settings.DEBUG = True
    out = run("--reset", "--no-input")
    commit_callbacks()

    # Then it is as then: every table, the staff groups, the demo catalog, with ids from 1 as in
    # a new database (the README's examples use them); and the ledger is append-only again.
    assert out == [
        "Database emptied (the staff groups and permissions stay).",
        "Demo catalog: 13 product(s) created, 0 already there.",
    ]
    assert table_rows() == fresh
    assert demo_catalog() == demo
    assert Variant.objects.values_list("pk", "product_id").get(sku="DEMO-001-SM") == (1, 1)
    assert staff_groups() == groups
    # No process keeps serving the catalog or an API key from before (they moved on commit).
    assert catalog_version() > versions_before[0]
    assert KEYS_VERSION.current() > versions_before[1]
    with pytest.raises((IntegrityError, DatabaseError), match="append-only"), transaction.atomic():
        StockMovement.objects.all().delete()
    call_command("reconcile_stock", stdout=StringIO())


# The reset runs in a transaction of its own, as it does in use: PostgreSQL refuses its TRUNCATE
# after writes of the same transaction (their foreign-key checks pend), and on SQLite it drops
# and restores the ledger's triggers.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_reset_starts_the_demo_over(settings):
    try:
        _the_reset_starts_the_demo_over(settings)
    finally:
        # The test database's own flush DELETEs on SQLite, which the ledger refuses: empty it
        # first as the reset does.
        with transaction.atomic():
            seed_demo.demo_database_flush()


@pytest.mark.slow  # four manage.py processes, about 15 s
def test_the_reset_of_the_demo_database_file(tmp_path):
    """As `make reset-demo` runs it: the developer's settings (DEBUG on), a SQLite file, and an
    answer typed at the prompt."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    environment.update(
        DJANGO_SETTINGS_MODULE="inventory_project.settings.local",
        DATABASE_URL=f"sqlite:///{tmp_path / 'demo.sqlite3'}",
    )

    def manage(*args: str, answer: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=environment,
            input=answer,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    assert manage("migrate", "--no-input").returncode == 0
    assert manage("seed_demo").returncode == 0
    assert manage("import_catalog", str(SAMPLE)).returncode == 0

    kept = manage("seed_demo", "--reset", answer="no\n")
    reset = manage("seed_demo", "--reset", answer="yes\n")
    again = manage("import_catalog", str(SAMPLE), "--dry-run")

    assert kept.returncode == 1
    assert "Reset cancelled; nothing was changed." in kept.stderr
    assert reset.returncode == 0, reset.stderr
    assert reset.stdout.endswith("Demo catalog: 13 product(s) created, 0 already there.\n")
    # The sample applies to the demo again: its products and its import are gone.
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith("10 row(s): 3 product(s) and 5 variant(s) to create")
