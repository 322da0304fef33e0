"""Orders at a location: every existing order happened at the default location, MAIN (made by
stock's 0003)."""

import django.db.models.deletion
from django.db import migrations, models


def at_main(apps, schema_editor):
    main = apps.get_model("stock", "Location").objects.get(is_default=True)
    apps.get_model("orders", "Order").objects.update(location=main)


class Migration(migrations.Migration):

    dependencies = [
        ('orders', '0004_sales_report_indexes'),
        ('stock', '0003_main_location'),
    ]

    operations = [
        migrations.AddField(
            model_name='order',
            name='location',
            field=models.ForeignKey(help_text='Where its units are committed, and taken from when it is fulfilled.', null=True, on_delete=django.db.models.deletion.PROTECT, related_name='orders', to='stock.location'),
        ),
        migrations.RunPython(at_main, migrations.RunPython.noop),
    ]
