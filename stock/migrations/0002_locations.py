"""Stock in places and states (1 of 3): locations, stock levels per variant and location, and
the ledger's new columns (where, and units committed), nullable until the data is in.

The ledger's append-only triggers are dropped here and made again at the end of 0004: the
location of every existing movement has to be written, and SQLite rebuilds the table (which
drops its triggers) to add a column.
"""

import catalog.fields
import catalog.validators
import django.core.validators
import django.db.models.deletion
import django.db.models.functions.datetime
from django.conf import settings
from django.db import migrations, models

from stock.migrations._append_only import drop_append_only, make_append_only



class Migration(migrations.Migration):

    dependencies = [
        ('api', '0004_idempotency_answers_as_written'),
        ('catalog', '0008_variant_committed'),
        ('stock', '0001_initial'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='Location',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('code', catalog.fields.CodeField(help_text='Up to 16 upper-case letters, digits and hyphens, e.g. STORE-01.', max_length=16, unique=True, validators=[django.core.validators.RegexValidator('^[A-Z0-9](?:[A-Z0-9-]{0,14}[A-Z0-9])?$', 'Use A-Z, 0-9 and inner hyphens.')])),
                ('name', models.CharField(max_length=100, validators=[catalog.validators.validate_not_blank])),
                ('kind', models.CharField(choices=[('warehouse', 'Warehouse'), ('store', 'Store'), ('online', 'Online')], max_length=16)),
                ('is_active', models.BooleanField(default=True, help_text='Archived locations hold no stock and take none.', verbose_name='active')),
                ('is_default', models.BooleanField(default=False, help_text='Where a request that names no location happens. Exactly one location is.', verbose_name='default')),
                ('created_at', models.DateTimeField(auto_now_add=True, db_default=django.db.models.functions.datetime.Now())),
                ('updated_at', models.DateTimeField(auto_now=True, db_default=django.db.models.functions.datetime.Now())),
            ],
            options={
                'ordering': ['code'],
            },
        ),
        migrations.CreateModel(
            name='StockLevel',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('on_hand', models.IntegerField(default=0)),
                ('committed', models.IntegerField(default=0)),
                ('updated_at', models.DateTimeField(auto_now=True, db_default=django.db.models.functions.datetime.Now())),
            ],
            options={
                'ordering': ['variant_id', 'location_id'],
            },
        ),
        migrations.AddConstraint(
            model_name='location',
            constraint=models.CheckConstraint(condition=models.Q(('code__regex', '^[A-Z0-9](?:[A-Z0-9-]{0,14}[A-Z0-9])?$')), name='stock_location_code_format'),
        ),
        migrations.AddConstraint(
            model_name='location',
            constraint=models.CheckConstraint(condition=models.Q(('kind__in', ['warehouse', 'store', 'online'])), name='stock_location_kind_valid'),
        ),
        migrations.AddConstraint(
            model_name='location',
            constraint=models.CheckConstraint(condition=models.Q(('name__regex', '\\S')), name='stock_location_name_not_blank'),
        ),
        migrations.AddConstraint(
            model_name='location',
            constraint=models.UniqueConstraint(condition=models.Q(('is_default', True)), fields=('is_default',), name='stock_location_one_default'),
        ),
        migrations.AddConstraint(
            model_name='location',
            constraint=models.CheckConstraint(condition=models.Q(('is_default', False), ('is_active', True), _connector='OR'), name='stock_location_default_is_active'),
        ),
        migrations.AddField(
            model_name='stocklevel',
            name='location',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='stock_levels', to='stock.location'),
        ),
        migrations.AddField(
            model_name='stocklevel',
            name='variant',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='stock_levels', to='catalog.variant'),
        ),
        migrations.AddConstraint(
            model_name='stocklevel',
            constraint=models.UniqueConstraint(fields=('variant', 'location'), name='stock_level_one_per_location'),
        ),
        migrations.AddConstraint(
            model_name='stocklevel',
            constraint=models.CheckConstraint(condition=models.Q(('committed__gte', 0), ('committed__lte', models.F('on_hand'))), name='stock_level_committed_within_on_hand'),
        ),
        migrations.RunPython(drop_append_only, make_append_only),
        migrations.RemoveConstraint(
            model_name='stockmovement',
            name='catalog_move_reason_valid',
        ),
        migrations.RemoveConstraint(
            model_name='stockmovement',
            name='catalog_move_delta_not_zero',
        ),
        migrations.RemoveConstraint(
            model_name='stockmovement',
            name='catalog_move_increasing_reason_adds',
        ),
        migrations.AddField(
            model_name='stockmovement',
            name='committed_after',
            field=models.IntegerField(default=0, help_text='Units committed at the location after it.'),
        ),
        migrations.AddField(
            model_name='stockmovement',
            name='committed_delta',
            field=models.IntegerField(default=0, help_text='The signed change of the units committed to open orders.'),
        ),
        migrations.AlterField(
            model_name='stockmovement',
            name='delta',
            field=models.IntegerField(help_text='The signed change of the units on hand.'),
        ),
        migrations.AlterField(
            model_name='stockmovement',
            name='quantity_after',
            field=models.IntegerField(help_text='Units on hand at the location after it.'),
        ),
        migrations.AlterField(
            model_name='stockmovement',
            name='reason',
            field=models.CharField(choices=[('initial', 'Opening quantity'), ('received', 'Received (delivery)'), ('returned', 'Returned by a customer'), ('damaged', 'Damaged'), ('lost', 'Lost or stolen'), ('count_correction', 'Count correction'), ('correction', 'Correction'), ('order_placed', 'Order placed (committed)'), ('sale', 'Sale (taken off the shelf)'), ('order_cancelled', 'Order cancelled')], max_length=32),
        ),
        migrations.AddField(
            model_name='stockmovement',
            name='location',
            field=models.ForeignKey(db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='movements', to='stock.location'),
        ),
    ]
