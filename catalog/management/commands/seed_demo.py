import importlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.management.color import no_style
from django.core.management.sql import emit_post_migrate_signal
from django.db import connection, transaction

from catalog.models import Category, IssuedSku, Size, Variant
from catalog.services import SIZE_CODES, VariantSpec, product_create
from catalog.validators import gtin_check_digit
from core.actors import system_actor

# name, category, color, price, collection, {size: quantity}
DEMO_PRODUCTS: list[tuple[str, str, str, str, str, dict[str, int]]] = [
    ("Organic Cotton Tee", Category.TEES, "Black", "29.90", "FW24", {Size.S_M: 14, Size.L_XL: 3}),
    ("Organic Cotton Tee", Category.TEES, "White", "29.90", "SS25", {Size.S_M: 22, Size.L_XL: 9}),
    ("Boxy Pocket Tee", Category.TEES, "Sage", "34.00", "SS25", {Size.S_M: 0, Size.L_XL: 6}),
    ("Striped Breton Tee", Category.TEES, "Navy", "39.00", "SS25", {Size.S_M: 5, Size.L_XL: 1}),
    ("Oversized Logo Tee", Category.TEES, "Washed Grey", "32.00", "FW25", {Size.ONE_SIZE: 18}),
    (
        "Merino Crew Sweater",
        Category.SWEATERS,
        "Charcoal",
        "89.00",
        "FW24",
        {Size.S_M: 7, Size.L_XL: 0},
    ),
    ("Chunky Cable Knit", Category.SWEATERS, "Ecru", "119.00", "FW24", {Size.ONE_SIZE: 4}),
    ("Cotton Half-Zip", Category.SWEATERS, "Forest", "79.00", "FW25", {Size.S_M: 11, Size.L_XL: 8}),
    (
        "Lightweight Cardigan",
        Category.SWEATERS,
        "Oat",
        "69.00",
        "SS25",
        {Size.S_M: 2, Size.L_XL: 5},
    ),
    ("Relaxed Chino", Category.PANTS, "Khaki", "74.00", "SS25", {Size.S_M: 16, Size.L_XL: 12}),
    ("Wide-Leg Trouser", Category.PANTS, "Black", "95.00", "FW24", {Size.S_M: 3, Size.L_XL: 0}),
    ("Cargo Pant", Category.PANTS, "Olive", "85.00", "FW25", {Size.S_M: 9, Size.L_XL: 10}),
    ("Drawstring Linen Pant", Category.PANTS, "Sand", "65.00", "SS25", {Size.ONE_SIZE: 0}),
]

# The rows that only the migrations write: content types, permissions, and the staff groups with
# theirs. A reset keeps them, so the database is as `migrate` left it; everything else is demo
# data or was made since (users, keys, orders, the ledger...) and goes.
_MIGRATION_TABLES = {
    ContentType._meta.db_table,
    Permission._meta.db_table,
    Group._meta.db_table,
    Group.permissions.through._meta.db_table,
}
# The ledger's append-only guard: the statements of its migration, which create and drop it.
# Taken from the migration rather than copied, so that the reset restores exactly the guard the
# database has; squashing that migration must keep APPEND_ONLY_SQL (the reset tests import it).
_LEDGER_GUARD = importlib.import_module("catalog.migrations.0003_stock_ledger").APPEND_ONLY_SQL


def _demo_barcode(product_number: int, size_number: int) -> str:
    # GS1 prefix 200-299 is for in-store numbering, so demo codes never clash with real goods.
    digits = f"200{product_number:05d}{size_number:04d}"
    return digits + str(gtin_check_digit(digits))


def _demo_sku(product_number: int, size: str) -> str:
    return f"DEMO-{product_number:03d}-{SIZE_CODES[Size(size)]}"


@dataclass
class DemoSeeded:
    """What seeding found and did, product by product (as "name (color, collection)")."""

    created: list[str] = field(default_factory=list)
    there: list[str] = field(default_factory=list)
    # Of those there: archived since, and the SKUs of the sizes deleted since.
    archived: list[str] = field(default_factory=list)
    sizes_deleted: dict[str, list[str]] = field(default_factory=dict)
    deleted: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        lines = [
            f"Demo catalog: {len(self.created)} product(s) created, {len(self.there)} already "
            "there" + (f", {len(self.deleted)} deleted since seeded." if self.deleted else ".")
        ]
        if self.deleted:
            lines.append(
                "Deleted since seeded (the product or all its sizes), not created again as "
                f"SKUs are never reused: {', '.join(self.deleted)}."
            )
        if self.archived:
            lines.append(f"Archived since seeded, left archived: {', '.join(self.archived)}.")
        if self.sizes_deleted:
            sizes = "; ".join(
                f"{label}: {', '.join(skus)}" for label, skus in self.sizes_deleted.items()
            )
            lines.append(f"Sizes deleted since seeded, not created again: {sizes}.")
        if self.deleted or self.archived or self.sizes_deleted:
            lines.append("To start the demo over: manage.py seed_demo --reset.")
        return lines


def demo_seed() -> DemoSeeded:
    """Create each demo product that was never seeded; say what became of the others.

    A demo product seeded before is never created again, even when it was deleted since: its
    SKUs are issued for good (a SKU is never reused), and the README's examples name these SKUs
    and barcodes, so a copy under other SKUs would not be the demo. Only a reset starts over.
    """
    seeded = DemoSeeded()
    skus = {
        number: [_demo_sku(number, size) for size in stock]
        for number, (*_, stock) in enumerate(DEMO_PRODUCTS, 1)
    }
    every_sku = [sku for product_skus in skus.values() for sku in product_skus]
    issued = set(IssuedSku.objects.filter(sku__in=every_sku).values_list("sku", flat=True))
    # Each demo SKU that has a variant, and whether its product is active.
    variants = dict(
        Variant.objects.filter(sku__in=every_sku).values_list("sku", "product__is_active")
    )
    for number, (name, category, color, price, collection, stock) in enumerate(DEMO_PRODUCTS, 1):
        label = f"{name} ({color}, {collection})"
        product_skus = skus[number]
        if not issued.intersection(product_skus):
            product_create(
                category=category,
                name=name,
                color=color,
                price=Decimal(price),
                collection=collection,
                variants=[
                    VariantSpec(
                        size=size,
                        quantity=quantity,
                        sku=sku,
                        barcode=_demo_barcode(number, index),
                    )
                    for index, ((size, quantity), sku) in enumerate(
                        zip(stock.items(), product_skus, strict=True), 1
                    )
                ],
                actor=system_actor("seed_demo"),
            )
            seeded.created.append(label)
            continue
        present = [sku for sku in product_skus if sku in variants]
        if not present:
            seeded.deleted.append(label)
            continue
        seeded.there.append(label)
        if not all(variants[sku] for sku in present):
            seeded.archived.append(label)
        if len(present) < len(product_skus):
            seeded.sizes_deleted[label] = [sku for sku in product_skus if sku not in variants]
    return seeded


@contextmanager
def _ledger_guard_lifted() -> Iterator[None]:
    """Let a flush empty the ledger, in the caller's transaction.

    On PostgreSQL a flush is one TRUNCATE, which the row triggers that make the ledger
    append-only do not see. SQLite has no TRUNCATE: its flush DELETEs, which the triggers
    refuse. So there they are dropped for the flush and created again, in the same transaction:
    if anything fails, they come back with the rows.
    """
    if connection.vendor != "sqlite":
        yield
        return
    create, drop = _LEDGER_GUARD["sqlite"]
    with connection.cursor() as cursor:
        for statement in drop:
            cursor.execute(statement)
        yield
        for statement in create:
            cursor.execute(statement)


def demo_database_flush() -> None:
    """Empty the database, but for what the migrations wrote (see ``_MIGRATION_TABLES``), with
    Django's flush statements, and start its ids at 1 again, as in a new database."""
    tables = [
        table
        for table in connection.introspection.django_table_names(
            only_existing=True, include_views=False
        )
        if table not in _MIGRATION_TABLES
    ]
    with _ledger_guard_lifted():
        connection.ops.execute_sql_flush(
            connection.ops.sql_flush(no_style(), tables, reset_sequences=True)
        )
    # As Django's flush does: what follows writes without signals hears of it (the catalog's and
    # the API keys' versions, so no process serves a deleted key or catalog from its memory).
    emit_post_migrate_signal(0, False, connection.alias)


class Command(BaseCommand):
    help = (
        "Load a demo catalog across every category, collection and size. Running it again "
        "creates only what was never seeded and says what became of the rest. --reset empties "
        "the database first (only with DEBUG on, for a developer's machine)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--reset",
            action="store_true",
            help="Delete everything in the database (products, stock movements, orders, users, "
            "API keys; the staff groups stay) and load the demo catalog again. Refused unless "
            "DEBUG is on; asks first unless --no-input.",
        )
        parser.add_argument(
            "--no-input",
            "--noinput",
            action="store_false",
            dest="interactive",
            help="Do not ask before --reset.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["reset"]:
            self._confirm_reset(interactive=options["interactive"])
        # The reset and the seeding are one transaction: a failure leaves the database as it was.
        with transaction.atomic():
            if options["reset"]:
                demo_database_flush()
                self.stdout.write("Database emptied (the staff groups and permissions stay).")
            seeded = demo_seed()
        for line in seeded.lines():
            self.stdout.write(line)

    def _confirm_reset(self, *, interactive: bool) -> None:
        if not settings.DEBUG:
            raise CommandError(
                "--reset deletes everything in the database; it runs only with DEBUG on, on a "
                "developer's machine, never on a deployment. Nothing was changed."
            )
        where = connection.settings_dict["NAME"]
        if connection.vendor != "sqlite" and connection.settings_dict.get("HOST"):
            where = f"{where} on {connection.settings_dict['HOST']}"
        if interactive:
            answer = input(
                f"This deletes everything in the database {where} ({connection.vendor}): "
                "products, stock movements, orders, users and API keys; then it loads the demo "
                "catalog again. Type 'yes' to continue: "
            )
            if answer.strip().casefold() != "yes":
                raise CommandError("Reset cancelled; nothing was changed.")
