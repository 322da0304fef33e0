"""Stock in places and states (3 of 3): every movement has its location, the ledger's rules
for committed units hold, and the ledger is append-only again."""

import django.db.models.deletion
from django.db import migrations, models

from stock.migrations._append_only import drop_append_only, make_append_only


class Migration(migrations.Migration):

    dependencies = [
        ('stock', '0003_main_location'),
    ]

    operations = [
        migrations.AlterField(
            model_name='stockmovement',
            name='location',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='movements', to='stock.location'),
        ),
        migrations.AddIndex(
            model_name='stockmovement',
            index=models.Index(fields=['location', '-id'], name='stock_move_location_idx'),
        ),
        migrations.AddConstraint(
            model_name='stockmovement',
            constraint=models.CheckConstraint(condition=models.Q(('reason__in', ['initial', 'received', 'returned', 'damaged', 'lost', 'count_correction', 'correction', 'order_placed', 'sale', 'order_cancelled'])), name='catalog_move_reason_valid'),
        ),
        migrations.AddConstraint(
            model_name='stockmovement',
            constraint=models.CheckConstraint(condition=models.Q(('committed_after__gte', 0), ('committed_after__lte', models.F('quantity_after'))), name='stock_move_committed_after_within_on_hand'),
        ),
        migrations.AddConstraint(
            model_name='stockmovement',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('delta', 0), _negated=True), models.Q(('committed_delta', 0), _negated=True), ('reason', 'count_correction'), _connector='OR'), name='stock_move_changes_something'),
        ),
        migrations.AddConstraint(
            model_name='stockmovement',
            constraint=models.CheckConstraint(condition=models.Q(('committed_delta', 0), ('reason__in', ('order_placed', 'sale', 'order_cancelled')), _connector='OR'), name='stock_move_only_orders_commit'),
        ),
        migrations.AddConstraint(
            model_name='stockmovement',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('reason', 'order_placed'), _negated=True), models.Q(('committed_delta__gt', 0), ('delta', 0)), _connector='OR'), name='stock_move_placing_commits'),
        ),
        migrations.AddConstraint(
            model_name='stockmovement',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('reason', 'order_cancelled'), _negated=True), models.Q(('committed_delta__lt', 0), ('delta', 0)), models.Q(('committed_delta', 0), ('delta__gt', 0)), _connector='OR'), name='stock_move_cancelling_releases'),
        ),
        migrations.AddConstraint(
            model_name='stockmovement',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('reason', 'sale'), _negated=True), ('committed_delta', models.F('delta')), ('committed_delta', 0), _connector='OR'), name='stock_move_sale_takes_committed'),
        ),
        migrations.AddConstraint(
            model_name='stockmovement',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('reason__in', ('initial', 'received', 'returned')), _negated=True), ('delta__gt', 0), _connector='OR'), name='catalog_move_increasing_reason_adds'),
        ),
        migrations.RunPython(make_append_only, drop_append_only),
    ]
