"""Stock in places and states (2 of 3): what was one number per variant becomes a level at the
default location, ``MAIN``, losing nothing.

Before, placing an order took its units off the variant's quantity at once. Now an order
commits units at placement and takes them at fulfilment. So for every variant:

- what was available stays available: ``available`` (on hand less committed) is the old quantity;
- the units of open (placed or paid) orders were never picked: they are committed, and go back
  on hand, each line with two movements that say so (a ``correction`` putting them back on
  hand, then the ``order_placed`` that commits them), so the ledger still sums to every level;
- every existing movement happened at ``MAIN``.

``reconcile_stock`` then finds no drift. Backwards, the locations go; the movements that only
moved committed units (which the old ledger cannot hold) are deleted with them.
"""

from collections import defaultdict

from django.db import migrations
from django.db.models import Q, Sum
from django.utils import timezone

ACTOR = "locations migration"
OPEN = ("placed", "paid")


def to_main_location(apps, schema_editor):
    location_model = apps.get_model("stock", "Location")
    level_model = apps.get_model("stock", "StockLevel")
    movement_model = apps.get_model("stock", "StockMovement")
    variant_model = apps.get_model("catalog", "Variant")
    line_model = apps.get_model("orders", "OrderLine")

    main = location_model.objects.create(
        code="MAIN", name="Main stock", kind="warehouse", is_active=True, is_default=True
    )
    movement_model.objects.update(location=main)

    open_lines = (
        line_model.objects.filter(order__status__in=OPEN)
        .select_related("order", "variant")
        .order_by("order_id", "id")
    )
    committed: dict[int, int] = defaultdict(int)
    for line in open_lines:
        committed[line.variant_id] += line.quantity

    variants = variant_model.objects.filter(
        Q(quantity__gt=0) | Q(pk__in=list(committed)) | Q(movements__isnull=False)
    ).distinct()
    levels, changed = [], []
    for variant in variants.iterator():
        units = committed.get(variant.pk, 0)
        levels.append(
            level_model(
                variant_id=variant.pk,
                location=main,
                on_hand=variant.quantity + units,
                committed=units,
            )
        )
        if units:
            variant.committed = units
            changed.append(variant)
    level_model.objects.bulk_create(levels, batch_size=1000)
    variant_model.objects.bulk_update(changed, ["committed"], batch_size=1000)

    # The open lines' movements, in order, each level's figures running from the old quantity.
    running = {
        variant_id: [quantity, 0]
        for variant_id, quantity in variant_model.objects.filter(
            pk__in=list(committed)
        ).values_list("pk", "quantity")
    }
    now = timezone.now()
    movements = []
    for line in open_lines:
        figures = running[line.variant_id]
        common = {
            "variant_id": line.variant_id,
            "product_id": line.variant.product_id,
            "location": main,
            "actor_kind": "system",
            "actor": ACTOR,
            "reference": line.order.number,
            "created_at": now,
        }
        figures[0] += line.quantity
        movements.append(
            movement_model(
                **common,
                reason="correction",
                delta=line.quantity,
                quantity_after=figures[0],
                committed_delta=0,
                committed_after=figures[1],
                note="Open order: its units were taken at placement; now they stay on hand, "
                "committed, until it is fulfilled.",
            )
        )
        figures[1] += line.quantity
        movements.append(
            movement_model(
                **common,
                reason="order_placed",
                delta=0,
                quantity_after=figures[0],
                committed_delta=line.quantity,
                committed_after=figures[1],
                note="Open order: committed.",
            )
        )
    movement_model.objects.bulk_create(movements, batch_size=1000)


def to_one_number(apps, schema_editor):
    movement_model = apps.get_model("stock", "StockMovement")
    # This migration's own, and those that changed only committed units (the old ledger
    # refuses a movement that changes nothing on hand).
    movement_model.objects.filter(actor_kind="system", actor=ACTOR).delete()
    movement_model.objects.filter(delta=0).exclude(reason="count_correction").delete()
    movement_model.objects.update(location=None)
    apps.get_model("catalog", "Variant").objects.update(committed=0)
    apps.get_model("stock", "StockLevel").objects.all().delete()
    apps.get_model("stock", "Location").objects.all().delete()


class Migration(migrations.Migration):

    dependencies = [
        ("stock", "0002_locations"),
        ("orders", "0004_sales_report_indexes"),
    ]

    operations = [migrations.RunPython(to_main_location, to_one_number)]
