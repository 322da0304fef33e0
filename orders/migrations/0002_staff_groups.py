"""Both staff groups handle orders: see, place, move them through their states, record returns."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

CODENAMES = ["view_order", "add_order", "change_order", "return_order"]


def grant(apps, schema_editor):
    app_config = apps.get_app_config("orders")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    permissions = apps.get_model("auth", "Permission").objects.filter(
        content_type__app_label="orders", codename__in=CODENAMES
    )
    for group in apps.get_model("auth", "Group").objects.filter(name__in=["Store staff", "Manager"]):
        group.permissions.add(*permissions)


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0001_initial"),
        ("catalog", "0002_staff_groups"),
    ]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
