"""The ledger's model now belongs to the stock app (stock/migrations/0001_initial.py); its table
stays where it is, so this only takes it out of the catalog's state."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('catalog', '0006_import_content_hash'),
        ('stock', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name='StockMovement')],
            database_operations=[],
        ),
    ]
