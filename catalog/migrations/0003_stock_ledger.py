"""The stock ledger: append-only movements, an opening movement for every variant that already
holds stock, and the permission to read the ledger for both staff groups."""

import django.db.models.deletion
import django.db.models.functions.datetime
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


TABLE = "catalog_stockmovement"

# Statements per database: (forwards, backwards). Rows can be neither updated nor deleted;
# TRUNCATE, which only the table's owner may run, stays possible for operators (and for the test
# suite's database flush).
APPEND_ONLY_SQL = {
    "postgresql": (
        [
            """
            CREATE FUNCTION catalog_stockmovement_append_only() RETURNS trigger AS $$
            BEGIN
                RAISE EXCEPTION USING
                    MESSAGE = 'stock movements are append-only: ' || TG_OP || ' refused',
                    ERRCODE = 'integrity_constraint_violation';
            END;
            $$ LANGUAGE plpgsql
            """,
            f"""
            CREATE TRIGGER catalog_stockmovement_append_only
                BEFORE UPDATE OR DELETE ON {TABLE}
                FOR EACH ROW EXECUTE FUNCTION catalog_stockmovement_append_only()
            """,
        ],
        [
            f"DROP TRIGGER catalog_stockmovement_append_only ON {TABLE}",
            "DROP FUNCTION catalog_stockmovement_append_only()",
        ],
    ),
    "sqlite": (
        [
            f"""
            CREATE TRIGGER catalog_stockmovement_no_update BEFORE UPDATE ON {TABLE}
            BEGIN SELECT RAISE(ABORT, 'stock movements are append-only: UPDATE refused'); END
            """,
            f"""
            CREATE TRIGGER catalog_stockmovement_no_delete BEFORE DELETE ON {TABLE}
            BEGIN SELECT RAISE(ABORT, 'stock movements are append-only: DELETE refused'); END
            """,
        ],
        [
            "DROP TRIGGER catalog_stockmovement_no_update",
            "DROP TRIGGER catalog_stockmovement_no_delete",
        ],
    ),
}


def make_append_only(apps, schema_editor):
    for statement in APPEND_ONLY_SQL[schema_editor.connection.vendor][0]:
        schema_editor.execute(statement, params=None)


def drop_append_only(apps, schema_editor):
    for statement in APPEND_ONLY_SQL[schema_editor.connection.vendor][1]:
        schema_editor.execute(statement, params=None)


def record_opening_movements(apps, schema_editor):
    """Every variant that holds stock gets the movement that explains it."""
    variant_model = apps.get_model("catalog", "Variant")
    movement_model = apps.get_model("catalog", "StockMovement")
    variants = variant_model.objects.filter(quantity__gt=0, movements__isnull=True).order_by("pk")
    movement_model.objects.bulk_create(
        (
            movement_model(
                variant_id=variant.pk,
                product_id=variant.product_id,
                delta=variant.quantity,
                quantity_after=variant.quantity,
                reason="initial",
                actor_kind="system",
                actor="migration",
                note="Opening quantity, recorded when the stock ledger was introduced.",
            )
            for variant in variants.iterator()
        ),
        batch_size=1000,
    )


def grant_ledger_view(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    app_config = apps.get_app_config("catalog")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    permission = apps.get_model("auth", "Permission").objects.get(
        content_type__app_label="catalog", codename="view_stockmovement"
    )
    for group in apps.get_model("auth", "Group").objects.filter(name__in=["Store staff", "Manager"]):
        group.permissions.add(permission)


class Migration(migrations.Migration):

    dependencies = [
        ('api', '0002_idempotency_keys'),
        ('catalog', '0002_staff_groups'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='StockMovement',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('delta', models.IntegerField(help_text='The signed change of the quantity.')),
                ('quantity_after', models.IntegerField()),
                ('reason', models.CharField(choices=[('initial', 'Opening quantity'), ('received', 'Received (delivery)'), ('returned', 'Returned by a customer'), ('damaged', 'Damaged'), ('lost', 'Lost or stolen'), ('count_correction', 'Count correction'), ('correction', 'Correction'), ('sale', 'Sale'), ('order_cancelled', 'Order cancelled')], max_length=32)),
                ('actor_kind', models.CharField(choices=[('user', 'Staff user'), ('api_key', 'API key'), ('system', 'System')], max_length=16)),
                ('actor', models.CharField(help_text="The user's or the API key's name.", max_length=150)),
                ('note', models.CharField(blank=True, max_length=500)),
                ('reference', models.CharField(blank=True, help_text='What caused it, e.g. an order number.', max_length=100)),
                ('created_at', models.DateTimeField(db_default=django.db.models.functions.datetime.Now(), default=django.utils.timezone.now)),
                ('api_key', models.ForeignKey(blank=True, help_text='Keys with stock history are revoked, not deleted.', null=True, on_delete=django.db.models.deletion.PROTECT, related_name='stock_movements', to='api.apikey')),
                ('product', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='stock_movements', to='catalog.product')),
                ('user', models.ForeignKey(blank=True, help_text='Users with stock history are deactivated, not deleted.', null=True, on_delete=django.db.models.deletion.PROTECT, related_name='stock_movements', to=settings.AUTH_USER_MODEL)),
                ('variant', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='movements', to='catalog.variant')),
            ],
            options={
                'ordering': ['-id'],
                'indexes': [models.Index(fields=['variant', '-id'], name='catalog_move_variant_idx'), models.Index(fields=['product', '-id'], name='catalog_move_product_idx'), models.Index(fields=['reason', '-id'], name='catalog_move_reason_idx'), models.Index(fields=['actor', '-id'], name='catalog_move_actor_idx'), models.Index(fields=['created_at'], name='catalog_move_created_idx')],
                'constraints': [models.CheckConstraint(condition=models.Q(('reason__in', ['initial', 'received', 'returned', 'damaged', 'lost', 'count_correction', 'correction', 'sale', 'order_cancelled'])), name='catalog_move_reason_valid'), models.CheckConstraint(condition=models.Q(('actor_kind__in', ['user', 'api_key', 'system'])), name='catalog_move_actor_kind_valid'), models.CheckConstraint(condition=models.Q(('quantity_after__gte', 0)), name='catalog_move_quantity_after_not_negative'), models.CheckConstraint(condition=models.Q(models.Q(('delta', 0), _negated=True), ('reason', 'count_correction'), _connector='OR'), name='catalog_move_delta_not_zero'), models.CheckConstraint(condition=models.Q(models.Q(('reason__in', ('initial', 'received', 'returned', 'order_cancelled')), _negated=True), ('delta__gt', 0), _connector='OR'), name='catalog_move_increasing_reason_adds'), models.CheckConstraint(condition=models.Q(models.Q(('reason__in', ('damaged', 'lost', 'sale')), _negated=True), ('delta__lt', 0), _connector='OR'), name='catalog_move_decreasing_reason_takes'), models.CheckConstraint(condition=models.Q(models.Q(('reason', 'initial'), _negated=True), ('quantity_after', models.F('delta')), _connector='OR'), name='catalog_move_initial_is_opening'), models.CheckConstraint(condition=models.Q(('actor__regex', '\\S')), name='catalog_move_actor_not_blank')],
            },
        ),
        migrations.RunPython(make_append_only, drop_append_only),
        migrations.RunPython(record_opening_movements, migrations.RunPython.noop),
        migrations.RunPython(grant_ledger_view, migrations.RunPython.noop),
    ]
