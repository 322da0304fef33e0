"""Transfers between locations: units in transit (``StockLevel.incoming`` and the ledger's
``incoming_delta``/``incoming_after``), the transfer reasons and the transfers themselves.

The ledger's append-only triggers are dropped first and made again at the end: SQLite rebuilds
the table (which drops its triggers) to add a column.
"""

import django.db.models.deletion
import django.db.models.expressions
import django.db.models.functions.datetime
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

from stock.migrations._append_only import drop_append_only, make_append_only


class Migration(migrations.Migration):

    dependencies = [
        ('api', '0004_idempotency_answers_as_written'),
        ('catalog', '0008_variant_committed'),
        ('stock', '0005_location_api_keys'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(drop_append_only, make_append_only),
        migrations.CreateModel(
            name='Transfer',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('number', models.CharField(editable=False, max_length=16, unique=True)),
                ('status', models.CharField(choices=[('draft', 'Draft'), ('in_transit', 'In transit'), ('received', 'Received'), ('cancelled', 'Cancelled')], default='draft', max_length=16)),
                ('note', models.CharField(blank=True, max_length=500)),
                ('reference', models.CharField(blank=True, help_text="The caller's own reference, e.g. a customer's request.", max_length=100)),
                ('created_by', models.CharField(help_text="The user's or the API key's name.", max_length=150)),
                ('created_at', models.DateTimeField(db_default=django.db.models.functions.datetime.Now(), default=django.utils.timezone.now)),
                ('updated_at', models.DateTimeField(auto_now=True, db_default=django.db.models.functions.datetime.Now())),
                ('shipped_at', models.DateTimeField(blank=True, null=True)),
                ('received_at', models.DateTimeField(blank=True, help_text='When every unit arrived, or the rest was written off.', null=True)),
                ('cancelled_at', models.DateTimeField(blank=True, null=True)),
            ],
            options={
                'ordering': ['-id'],
            },
        ),
        migrations.CreateModel(
            name='TransferLine',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('quantity', models.PositiveIntegerField()),
                ('quantity_received', models.PositiveIntegerField(default=0)),
                ('quantity_lost', models.PositiveIntegerField(default=0, help_text='Units that never arrived, written off when the transfer closed.')),
            ],
            options={
                'ordering': ['id'],
            },
        ),
        migrations.RemoveConstraint(
            model_name='stockmovement',
            name='catalog_move_decreasing_reason_takes',
        ),
        migrations.RemoveConstraint(
            model_name='stockmovement',
            name='catalog_move_reason_valid',
        ),
        migrations.RemoveConstraint(
            model_name='stockmovement',
            name='stock_move_changes_something',
        ),
        migrations.AddField(
            model_name='stocklevel',
            name='incoming',
            field=models.IntegerField(default=0, help_text='Units shipped here by transfers and not received yet: on hand nowhere.'),
        ),
        migrations.AddField(
            model_name='stockmovement',
            name='incoming_after',
            field=models.IntegerField(default=0, help_text='Units in transit to the location after it.'),
        ),
        migrations.AddField(
            model_name='stockmovement',
            name='incoming_delta',
            field=models.IntegerField(default=0, help_text='The signed change of the units in transit to the location.'),
        ),
        migrations.AlterField(
            model_name='stockmovement',
            name='reason',
            field=models.CharField(choices=[('initial', 'Opening quantity'), ('received', 'Received (delivery)'), ('returned', 'Returned by a customer'), ('damaged', 'Damaged'), ('lost', 'Lost or stolen'), ('count_correction', 'Count correction'), ('correction', 'Correction'), ('order_placed', 'Order placed (committed)'), ('sale', 'Sale (taken off the shelf)'), ('order_cancelled', 'Order cancelled'), ('transfer_out', 'Transfer shipped'), ('transfer_in', 'Transfer received'), ('transfer_cancelled', 'Transfer cancelled')], max_length=32),
        ),
        migrations.AddConstraint(
            model_name='stocklevel',
            constraint=models.CheckConstraint(condition=models.Q(('incoming__gte', 0)), name='stock_level_incoming_not_negative'),
        ),
        migrations.AddConstraint(
            model_name='stockmovement',
            constraint=models.CheckConstraint(condition=models.Q(('reason__in', ['initial', 'received', 'returned', 'damaged', 'lost', 'count_correction', 'correction', 'order_placed', 'sale', 'order_cancelled', 'transfer_out', 'transfer_in', 'transfer_cancelled'])), name='catalog_move_reason_valid'),
        ),
        migrations.AddConstraint(
            model_name='stockmovement',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('delta', 0), _negated=True), models.Q(('committed_delta', 0), _negated=True), models.Q(('incoming_delta', 0), _negated=True), ('reason', 'count_correction'), _connector='OR'), name='stock_move_changes_something'),
        ),
        migrations.AddConstraint(
            model_name='stockmovement',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('reason__in', ('damaged', 'lost', 'sale')), _negated=True), models.Q(('delta__lt', 0), ('incoming_delta', 0)), models.Q(('delta', 0), ('incoming_delta__lt', 0), ('reason', 'lost')), _connector='OR'), name='catalog_move_decreasing_reason_takes'),
        ),
        migrations.AddConstraint(
            model_name='stockmovement',
            constraint=models.CheckConstraint(condition=models.Q(('incoming_after__gte', 0)), name='stock_move_incoming_after_not_negative'),
        ),
        migrations.AddConstraint(
            model_name='stockmovement',
            constraint=models.CheckConstraint(condition=models.Q(('incoming_delta', 0), ('reason__in', ('transfer_out', 'transfer_in', 'transfer_cancelled', 'lost')), _connector='OR'), name='stock_move_only_transfers_in_transit'),
        ),
        migrations.AddConstraint(
            model_name='stockmovement',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('reason', 'transfer_out'), _negated=True), models.Q(('delta__lt', 0), ('incoming_delta', 0)), models.Q(('delta', 0), ('incoming_delta__gt', 0)), _connector='OR'), name='stock_move_transfer_out'),
        ),
        migrations.AddConstraint(
            model_name='stockmovement',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('reason', 'transfer_in'), _negated=True), models.Q(('delta__gt', 0), ('incoming_delta', django.db.models.expressions.CombinedExpression(models.F('delta'), '*', models.Value(-1)))), _connector='OR'), name='stock_move_transfer_in'),
        ),
        migrations.AddConstraint(
            model_name='stockmovement',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('reason', 'transfer_cancelled'), _negated=True), models.Q(('delta__gt', 0), ('incoming_delta', 0)), models.Q(('delta', 0), ('incoming_delta__lt', 0)), _connector='OR'), name='stock_move_transfer_cancelled'),
        ),
        migrations.AddField(
            model_name='transfer',
            name='api_key',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='stock_transfers', to='api.apikey'),
        ),
        migrations.AddField(
            model_name='transfer',
            name='from_location',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='transfers_out', to='stock.location'),
        ),
        migrations.AddField(
            model_name='transfer',
            name='to_location',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='transfers_in', to='stock.location'),
        ),
        migrations.AddField(
            model_name='transfer',
            name='user',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='stock_transfers', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='transferline',
            name='transfer',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='lines', to='stock.transfer'),
        ),
        migrations.AddField(
            model_name='transferline',
            name='variant',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='transfer_lines', to='catalog.variant'),
        ),
        migrations.AddIndex(
            model_name='transfer',
            index=models.Index(fields=['status', '-id'], name='stock_transfer_status_idx'),
        ),
        migrations.AddIndex(
            model_name='transfer',
            index=models.Index(fields=['from_location', '-id'], name='stock_transfer_from_idx'),
        ),
        migrations.AddIndex(
            model_name='transfer',
            index=models.Index(fields=['to_location', '-id'], name='stock_transfer_to_idx'),
        ),
        migrations.AddConstraint(
            model_name='transfer',
            constraint=models.CheckConstraint(condition=models.Q(('status__in', ['draft', 'in_transit', 'received', 'cancelled'])), name='stock_transfer_status_valid'),
        ),
        migrations.AddConstraint(
            model_name='transfer',
            constraint=models.CheckConstraint(condition=models.Q(('from_location', models.F('to_location')), _negated=True), name='stock_transfer_between_two_places'),
        ),
        migrations.AddConstraint(
            model_name='transfer',
            constraint=models.CheckConstraint(condition=models.Q(('created_by__regex', '\\S')), name='stock_transfer_created_by_not_blank'),
        ),
        migrations.AddConstraint(
            model_name='transfer',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('shipped_at__isnull', True), ('status', 'draft')), ('status', 'cancelled'), models.Q(('shipped_at__isnull', False), ('status__in', ['in_transit', 'received'])), _connector='OR'), name='stock_transfer_shipped_at_matches_status'),
        ),
        migrations.AddConstraint(
            model_name='transfer',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('received_at__isnull', False), ('status', 'received')), models.Q(models.Q(('status', 'received'), _negated=True), ('received_at__isnull', True)), _connector='OR'), name='stock_transfer_received_at_matches_status'),
        ),
        migrations.AddConstraint(
            model_name='transfer',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('cancelled_at__isnull', False), ('status', 'cancelled')), models.Q(models.Q(('status', 'cancelled'), _negated=True), ('cancelled_at__isnull', True)), _connector='OR'), name='stock_transfer_cancelled_at_matches_status'),
        ),
        migrations.AddConstraint(
            model_name='transferline',
            constraint=models.UniqueConstraint(fields=('transfer', 'variant'), name='stock_transfer_line_one_per_variant'),
        ),
        migrations.AddConstraint(
            model_name='transferline',
            constraint=models.CheckConstraint(condition=models.Q(('quantity__gt', 0)), name='stock_transfer_line_quantity_positive'),
        ),
        migrations.AddConstraint(
            model_name='transferline',
            constraint=models.CheckConstraint(condition=models.Q(('quantity_received__gte', 0), ('quantity_lost__gte', 0), ('quantity__gte', django.db.models.expressions.CombinedExpression(models.F('quantity_received'), '+', models.F('quantity_lost')))), name='stock_transfer_line_within_quantity'),
        ),
        migrations.RunPython(make_append_only, drop_append_only),
    ]
