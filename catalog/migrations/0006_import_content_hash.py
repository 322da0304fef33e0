"""Imports remember their content, so that a file applied before is recognised (see
catalog.imports.content_hash), and who applied them. Existing imports get both, computed from
what they kept; an import whose content had been applied before it is marked as a re-import."""

import hashlib
import json

from django.conf import settings
from django.db import migrations, models

# The import's columns and its fingerprint of a file's rows as this migration was written; a
# migration keeps its own copy, so that later changes to the code do not change what it did.
COLUMNS = (
    "sku",
    "product",
    "category",
    "color",
    "collection",
    "price",
    "size",
    "barcode",
    "low_stock_threshold",
    "active",
    "on_hand",
    "received",
    "counted",
)


def content_hash(rows):
    canonical = sorted(
        ([row.get(column) for column in COLUMNS] for row in rows), key=lambda values: values[0] or ""
    )
    return hashlib.sha256(json.dumps(canonical, separators=(",", ":")).encode()).hexdigest()


def fill_in(apps, schema_editor):
    batch_model = apps.get_model("catalog", "ImportBatch")
    movement_model = apps.get_model("catalog", "StockMovement")
    # Who applied the imports a command applied (no user): their movements name the actor. One
    # read of the ledger for all of them, not one per import (references are not indexed).
    by_command = batch_model.objects.filter(status="applied", applied_by__isnull=True)
    references = {f"import-{pk}" for pk in by_command.values_list("pk", flat=True)}
    actors = {}
    if references:
        for reference, actor in (
            movement_model.objects.filter(reference__in=references)
            .order_by("pk")
            .values_list("reference", "actor")
        ):
            actors.setdefault(reference, actor)
    applied_hashes = set()
    # Applied ones in the order they were applied, so that the first of a content stays first.
    batches = batch_model.objects.select_related("applied_by").order_by("applied_at", "pk")
    for batch in batches.iterator(chunk_size=10):
        batch.content_hash = content_hash(batch.rows)
        if batch.status == "applied":
            batch.reimport = batch.content_hash in applied_hashes
            applied_hashes.add(batch.content_hash)
            if batch.applied_by is not None:
                batch.applied_actor = batch.applied_by.username[:150]
            else:
                batch.applied_actor = actors.get(f"import-{batch.pk}", "")
        batch.save(update_fields=["content_hash", "reimport", "applied_actor"])


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0005_query_values_in_any_case"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="importbatch",
            name="applied_actor",
            field=models.CharField(
                blank=True,
                help_text="Who applied it, as its stock movements name them: a user, or a command.",
                max_length=150,
            ),
        ),
        migrations.AddField(
            model_name="importbatch",
            name="content_hash",
            field=models.CharField(
                blank=True,
                help_text="SHA-256 of the file's content as the import reads it (see catalog.imports).",
                max_length=64,
            ),
        ),
        migrations.AddField(
            model_name="importbatch",
            name="reimport",
            field=models.BooleanField(
                default=False,
                help_text="Applied although the same content had been applied before, as confirmed.",
            ),
        ),
        migrations.RunPython(fill_in, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="importbatch",
            index=models.Index(
                condition=models.Q(("status", "applied")),
                fields=["content_hash"],
                name="catalog_import_hash_idx",
            ),
        ),
        migrations.AddConstraint(
            model_name="importbatch",
            constraint=models.UniqueConstraint(
                condition=models.Q(
                    ("reimport", False),
                    ("status", "applied"),
                    models.Q(("content_hash", ""), _negated=True),
                ),
                fields=("content_hash",),
                name="catalog_importbatch_content_applied_once",
            ),
        ),
        migrations.AddConstraint(
            model_name="importbatch",
            constraint=models.CheckConstraint(
                condition=models.Q(("reimport", False), ("status", "applied"), _connector="OR"),
                name="catalog_importbatch_reimport_is_applied",
            ),
        ),
    ]
