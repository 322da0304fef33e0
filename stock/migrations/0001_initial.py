"""The ledger moves from the catalog app to this one: the model only, not its rows.

The table, its indexes, constraints and append-only triggers stay as they are
(``catalog_stockmovement``); only Django's state says the model is now ``stock.StockMovement``.
The content type follows, so that every permission on it (the staff groups' "view stock
movement"), and every admin log entry about a movement, stays attached.
"""

import django.db.models.deletion
import django.db.models.functions.datetime
import django.db.models.functions.text
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


def _relabel(apps, old, new):
    apps.get_model("contenttypes", "ContentType").objects.filter(
        app_label=old, model="stockmovement"
    ).update(app_label=new)


def move_content_type(apps, schema_editor):
    _relabel(apps, "catalog", "stock")


def move_content_type_back(apps, schema_editor):
    _relabel(apps, "stock", "catalog")


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('api', '0004_idempotency_answers_as_written'),
        ('catalog', '0006_import_content_hash'),
        ('contenttypes', '0002_remove_content_type_name'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
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
                'db_table': 'catalog_stockmovement',
                'ordering': ['-id'],
                'indexes': [models.Index(fields=['variant', '-id'], name='catalog_move_variant_idx'), models.Index(fields=['product', '-id'], name='catalog_move_product_idx'), models.Index(fields=['reason', '-id'], name='catalog_move_reason_idx'), models.Index(django.db.models.functions.text.Upper('actor'), models.OrderBy(models.F('id'), descending=True), name='catalog_move_actor_ci_idx'), models.Index(fields=['created_at'], name='catalog_move_created_idx')],
                'constraints': [models.CheckConstraint(condition=models.Q(('reason__in', ['initial', 'received', 'returned', 'damaged', 'lost', 'count_correction', 'correction', 'sale', 'order_cancelled'])), name='catalog_move_reason_valid'), models.CheckConstraint(condition=models.Q(('actor_kind__in', ['user', 'api_key', 'system'])), name='catalog_move_actor_kind_valid'), models.CheckConstraint(condition=models.Q(('quantity_after__gte', 0)), name='catalog_move_quantity_after_not_negative'), models.CheckConstraint(condition=models.Q(models.Q(('delta', 0), _negated=True), ('reason', 'count_correction'), _connector='OR'), name='catalog_move_delta_not_zero'), models.CheckConstraint(condition=models.Q(models.Q(('reason__in', ('initial', 'received', 'returned', 'order_cancelled')), _negated=True), ('delta__gt', 0), _connector='OR'), name='catalog_move_increasing_reason_adds'), models.CheckConstraint(condition=models.Q(models.Q(('reason__in', ('damaged', 'lost', 'sale')), _negated=True), ('delta__lt', 0), _connector='OR'), name='catalog_move_decreasing_reason_takes'), models.CheckConstraint(condition=models.Q(models.Q(('reason', 'initial'), _negated=True), ('quantity_after', models.F('delta')), _connector='OR'), name='catalog_move_initial_is_opening'), models.CheckConstraint(condition=models.Q(('actor__regex', '\\S')), name='catalog_move_actor_not_blank')],
            },
        ),
                ],
            database_operations=[],
        ),
        migrations.RunPython(move_content_type, move_content_type_back, elidable=False),
    ]
