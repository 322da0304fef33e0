"""A file applied before is recognised by its content, whatever a spreadsheet app did to its
bytes, and applying it again takes an explicit confirmation: in the service, the admin and the
command, and under concurrency."""

import codecs
from datetime import timedelta
from io import StringIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse
from django.utils import timezone

from catalog.models import ImportBatch, ImportBatchStatus, Variant
from catalog.tests.support import race
from core.actors import system_actor, user_actor
from stock import imports
from stock.imports import (
    ImportAppliedBefore,
    apply,
    content_hash,
    import_apply,
    import_batch_create,
    import_preview,
)
from stock.models import StockMovement

pytestmark = pytest.mark.django_db

ACTOR = system_actor("test")
IMPORT = reverse("admin:catalog_product_import")


@pytest.fixture
def variants(make_product):
    return list(make_product(stock={"S-M": 5, "L-XL": 2}).variants.order_by("pk"))


def delivery(variants) -> bytes:
    small, large = variants
    return f"sku,product,price,received\n{small.sku},,,12\n{large.sku},,35.00,4\n".encode()


def batch_of(data: bytes, **kwargs) -> ImportBatch:
    preview = import_preview(data=data)
    assert preview.errors == []
    return import_batch_create(preview=preview, **kwargs)


def quantities(variants) -> list[int]:
    return [Variant.objects.get(pk=variant.pk).quantity for variant in variants]


# What "the same content" means


def test_the_same_delivery_saved_again_by_a_spreadsheet_app_has_the_same_content(variants):
    small, large = variants
    original = delivery(variants)
    saved_again = [
        codecs.BOM_UTF8 + original,  # "CSV UTF-8" adds a byte-order mark
        original.replace(b"\n", b"\r\n"),  # Windows line ends
        original.rstrip(b"\n"),  # no newline at the end
        original + b",,,\n,,,\n",  # empty rows at the end
        original.replace(b",", b";"),  # another locale's separator
        original.replace(b"35.00", b"35"),  # a number format
        f'"SKU","Received","Price"\n"{large.sku.lower()}","4","35.0"\n"{small.sku}","12",""\n'.encode(),
    ]
    expected = import_preview(data=original).content_hash
    assert len(expected) == 64
    assert [import_preview(data=data).content_hash for data in saved_again] == [expected] * len(
        saved_again
    )


def test_other_quantities_or_rows_are_other_content(variants):
    original = delivery(variants)
    others = [
        original.replace(b",12\n", b",13\n"),
        original + f"{variants[0].sku.replace('-SM', '-OS')},,,1\n".encode(),
        original.replace(b",,,12", b",,,").replace(b"received", b"counted"),
    ]
    hashes = {import_preview(data=data).content_hash for data in [original, *others]}
    assert len(hashes) == 4


def test_the_hash_is_of_the_columns_the_import_reads():
    assert content_hash([{"sku": "A", "received": 1, "row": 2, "on_hand": None}]) == content_hash(
        [{"sku": "A", "received": 1, "row": 7}]
    )


# The service


def test_applying_the_same_content_again_is_refused_unless_confirmed(variants):
    first = batch_of(delivery(variants), filename="dn-4711.csv")
    import_apply(batch=first, actor=ACTOR)
    after_first = quantities(variants)
    again = batch_of(codecs.BOM_UTF8 + delivery(variants).replace(b"\n", b"\r\n"))

    with pytest.raises(ImportAppliedBefore) as refused:
        import_apply(batch=again, actor=ACTOR)

    first.refresh_from_db()
    applied = timezone.localtime(first.applied_at)
    assert refused.value.message.startswith(
        f"This file was applied already: on {applied:%Y-%m-%d %H:%M} by test as import "
        f"#{first.pk}. Nothing was changed."
    )
    assert refused.value.details == {"imports": [first.pk]}
    assert quantities(variants) == after_first
    again.refresh_from_db()
    assert again.status == ImportBatchStatus.PREVIEWED

    import_apply(batch=again, actor=ACTOR, allow_reimport=True)

    assert quantities(variants) == [after_first[0] + 12, after_first[1] + 4]
    again.refresh_from_db()
    assert (again.status, again.reimport, first.reimport) == ("applied", True, False)


def test_a_confirmation_is_not_needed_for_a_file_never_applied(variants):
    # Previewed twice, never applied: no warning, and applying one of them is a first.
    batch_of(delivery(variants))
    batch = batch_of(delivery(variants))
    import_apply(batch=batch, actor=ACTOR, allow_reimport=True)
    batch.refresh_from_db()
    assert batch.reimport is False


def test_the_database_keeps_one_first_application_per_content(variants):
    first, second = batch_of(delivery(variants)), batch_of(delivery(variants))
    ImportBatch.objects.filter(pk=first.pk).update(status="applied", applied_at=timezone.now())
    with pytest.raises(IntegrityError), transaction.atomic():
        ImportBatch.objects.filter(pk=second.pk).update(status="applied", applied_at=timezone.now())
    ImportBatch.objects.filter(pk=second.pk).update(
        status="applied", applied_at=timezone.now(), reimport=True
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        ImportBatch.objects.filter(pk=first.pk).update(status="invalid", reimport=True)


def test_an_application_that_looked_before_the_first_committed_is_refused_by_the_database(
    variants, monkeypatch
):
    first, second = batch_of(delivery(variants)), batch_of(delivery(variants))
    import_apply(batch=first, actor=ACTOR)
    after_first = quantities(variants)
    # As if the second had looked for earlier applications just before the first committed.
    looks = []

    def looked_too_early(**kwargs):
        looks.append(kwargs)
        return real_look(**kwargs) if len(looks) > 1 else ImportBatch.objects.none()

    real_look = imports.import_batches_applied
    monkeypatch.setattr(apply, "import_batches_applied", looked_too_early)

    with pytest.raises(ImportAppliedBefore) as refused:
        import_apply(batch=second, actor=ACTOR)

    assert refused.value.details == {"imports": [first.pk]}
    assert quantities(variants) == after_first
    second.refresh_from_db()
    assert second.status == ImportBatchStatus.PREVIEWED


# The admin


def test_the_admin_warns_and_asks_for_a_confirmation(manager_web, manager, variants):
    manager_web.post(IMPORT, {"file": SimpleUploadedFile("dn-4711.csv", delivery(variants))})
    first = ImportBatch.objects.get()
    manager_web.post(reverse("admin:catalog_product_import_preview", args=[first.pk]))
    first.refresh_from_db()
    after_first = quantities(variants)
    # The same delivery note, saved again by a spreadsheet app
    data = codecs.BOM_UTF8 + delivery(variants).replace(b"\n", b"\r\n")
    manager_web.post(IMPORT, {"file": SimpleUploadedFile("dn-4711 (1).csv", data)})
    again = ImportBatch.objects.latest("pk")
    url = reverse("admin:catalog_product_import_preview", args=[again.pk])

    html = manager_web.get(url).content.decode()

    applied = timezone.localtime(first.applied_at)
    assert "This file was applied already:" in html
    assert f"by manager as import #{first.pk}" in html
    assert f"{applied:%Y}" in html
    assert 'name="reimport" value="yes" required' in html
    assert 'value="Apply import again"' in html

    # Apply without the confirmation: refused, nothing changed
    refused = manager_web.post(url, follow=True)
    assert "This file was applied already" in refused.content.decode()
    assert quantities(variants) == after_first
    again.refresh_from_db()
    assert again.status == ImportBatchStatus.PREVIEWED

    # With it: applied again, and marked as such
    response = manager_web.post(url, {"reimport": "yes"})
    assert response.status_code == 302
    assert quantities(variants) == [after_first[0] + 12, after_first[1] + 4]
    again.refresh_from_db()
    assert (again.status, again.reimport, again.applied_actor) == ("applied", True, "manager")
    assert "again: the same file had been applied before" in manager_web.get(url).content.decode()


def test_the_admin_shows_no_warning_for_a_new_file(manager_web, variants):
    manager_web.post(IMPORT, {"file": SimpleUploadedFile("dn.csv", delivery(variants))})
    batch = ImportBatch.objects.get()
    html = manager_web.get(
        reverse("admin:catalog_product_import_preview", args=[batch.pk])
    ).content.decode()
    assert "applied already" not in html
    assert 'name="reimport"' not in html


# The command


def test_the_command_refuses_a_file_applied_before_unless_allowed(tmp_path, variants):
    path = tmp_path / "dn-4711.csv"
    path.write_bytes(delivery(variants))
    call_command("import_catalog", str(path), stdout=StringIO())
    first = ImportBatch.objects.get()
    after_first = quantities(variants)
    path.write_bytes(codecs.BOM_UTF8 + delivery(variants).replace(b"\n", b"\r\n"))
    applied = timezone.localtime(first.applied_at)
    message = (
        f"This file was applied already: on {applied:%Y-%m-%d %H:%M} by import_catalog as "
        f"import #{first.pk}. Nothing was imported. Give --allow-reimport to apply it again"
    )

    for dry_run in ([], ["--dry-run"]):
        with pytest.raises(CommandError) as refused:
            call_command("import_catalog", str(path), *dry_run, stdout=StringIO())
        assert str(refused.value).startswith(message)
    assert quantities(variants) == after_first
    assert ImportBatch.objects.count() == 1

    out = StringIO()
    call_command("import_catalog", str(path), "--allow-reimport", stdout=out)

    assert quantities(variants) == [after_first[0] + 12, after_first[1] + 4]
    assert f"as import #{first.pk}); applying it again." in out.getvalue()
    assert ImportBatch.objects.latest("pk").reimport is True


def test_the_command_exits_non_zero_when_refused(tmp_path, variants):
    path = tmp_path / "dn.csv"
    path.write_bytes(delivery(variants))
    call_command("import_catalog", str(path), stdout=StringIO())
    with pytest.raises(CommandError):
        call_command("import_catalog", str(path), stdout=StringIO(), stderr=StringIO())
    assert StockMovement.objects.filter(reference__startswith="import-").count() == 2


# Concurrency (PostgreSQL): the check is backed by the database


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_same_file_applied_twice_concurrently_is_applied_once(make_product):
    variants = list(make_product(stock={"S-M": 5, "L-XL": 2}).variants.order_by("pk"))
    first, second = batch_of(delivery(variants)), batch_of(delivery(variants))

    outcomes = race(
        [
            lambda: import_apply(batch=first, actor=ACTOR),
            lambda: import_apply(batch=second, actor=ACTOR),
        ]
    )

    assert sorted(type(outcome).__name__ for outcome in outcomes) == ["ImportAppliedBefore", "dict"]
    assert quantities(variants) == [5 + 12, 2 + 4]
    assert ImportBatch.objects.filter(status="applied").count() == 1
    assert StockMovement.objects.filter(reference__startswith="import-").count() == 2
    call_command("reconcile_stock", stdout=StringIO())


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_new_products_of_a_file_applied_twice_concurrently_are_created_once(manager):
    data = (
        b"sku,product,category,color,collection,price,size,received\n"
        b"RIB-SM,Ribbed Sweater,Sweaters,Camel,FW25,99.00,S-M,3\n"
    )
    first, second = batch_of(data), batch_of(data)

    outcomes = race(
        [
            lambda: import_apply(batch=first, actor=user_actor(manager)),
            lambda: import_apply(batch=second, actor=user_actor(manager)),
        ]
    )

    assert sorted(type(outcome).__name__ for outcome in outcomes) == ["ImportAppliedBefore", "dict"]
    assert Variant.objects.get(sku="RIB-SM").quantity == 3


# Imports applied before this check existed


BEFORE = [("catalog", "0005_query_values_in_any_case")]
AFTER = [("catalog", "0006_import_content_hash")]


def _old_row(number: int, sku: str, received: int) -> dict[str, object]:
    return {"row": number, **dict.fromkeys(imports.COLUMNS), "sku": sku, "received": received}


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_imports_applied_before_the_migration_get_their_content_and_who_applied_them(manager):
    executor = MigrationExecutor(connection)
    latest = executor.loader.graph.leaf_nodes()
    executor.migrate(BEFORE)
    try:
        batches = executor.loader.project_state(BEFORE).apps.get_model("catalog", "ImportBatch")
        delivery_rows = [_old_row(2, "A", 3), _old_row(3, "B", 1)]
        count_rows = [_old_row(2, "A", 0)]
        now = timezone.now()
        # The same delivery applied twice (by the old code, without a word), and another file
        first = batches.objects.create(
            status="applied", applied_at=now, applied_by_id=manager.pk, rows=delivery_rows
        )
        twice = batches.objects.create(
            status="applied", applied_at=now + timedelta(minutes=5), rows=delivery_rows[::-1]
        )
        other = batches.objects.create(status="previewed", rows=count_rows)

        executor = MigrationExecutor(connection)
        executor.migrate(AFTER)

        migrated = executor.loader.project_state(AFTER).apps.get_model("catalog", "ImportBatch")
        assert [
            (batch.pk, batch.content_hash, batch.reimport, batch.applied_actor)
            for batch in migrated.objects.order_by("pk")
        ] == [
            (first.pk, content_hash(delivery_rows), False, "manager"),
            (twice.pk, content_hash(delivery_rows), True, ""),
            (other.pk, content_hash(count_rows), False, ""),
        ]
    finally:
        MigrationExecutor(connection).migrate(latest)


@pytest.mark.postgres  # the flush after it deletes a stock movement: SQLite's trigger refuses
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_an_import_applied_by_the_command_before_the_migration_is_named_by_its_movements():
    executor = MigrationExecutor(connection)
    latest = executor.loader.graph.leaf_nodes()
    executor.migrate(BEFORE)
    try:
        old = executor.loader.project_state(BEFORE).apps
        batch = old.get_model("catalog", "ImportBatch").objects.create(
            status="applied", applied_at=timezone.now(), rows=[_old_row(2, "A", 3)]
        )
        product = old.get_model("catalog", "Product").objects.create(
            category="Tees", name="Tee", color="Black", price="10.00", collection="FW24"
        )
        variant = old.get_model("catalog", "Variant").objects.create(
            product=product, size="S-M", sku="A", quantity=3
        )
        old.get_model("catalog", "StockMovement").objects.create(
            variant=variant,
            product=product,
            delta=3,
            quantity_after=3,
            reason="initial",
            actor_kind="system",
            actor="import_catalog",
            reference=f"import-{batch.pk}",
        )

        executor = MigrationExecutor(connection)
        executor.migrate(AFTER)

        migrated = executor.loader.project_state(AFTER).apps.get_model("catalog", "ImportBatch")
        assert migrated.objects.get(pk=batch.pk).applied_actor == "import_catalog"
    finally:
        MigrationExecutor(connection).migrate(latest)
