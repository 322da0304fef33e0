import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('orders', '0005_order_location'),
    ]

    operations = [
        migrations.AlterField(
            model_name='order',
            name='location',
            field=models.ForeignKey(help_text='Where its units are committed, and taken from when it is fulfilled.', on_delete=django.db.models.deletion.PROTECT, related_name='orders', to='stock.location'),
        ),
    ]
