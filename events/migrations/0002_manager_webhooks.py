"""Managers manage the webhook endpoints (and see the events and deliveries); store staff do not."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

CODENAMES = [
    "view_webhookendpoint",
    "add_webhookendpoint",
    "change_webhookendpoint",
    "delete_webhookendpoint",
    "view_event",
    "view_delivery",
    "change_delivery",
    "view_deliveryattempt",
]


def grant(apps, schema_editor):
    app_config = apps.get_app_config("events")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    permissions = apps.get_model("auth", "Permission").objects.filter(
        content_type__app_label="events", codename__in=CODENAMES
    )
    for group in apps.get_model("auth", "Group").objects.filter(name="Manager"):
        group.permissions.add(*permissions)


class Migration(migrations.Migration):
    dependencies = [
        ("events", "0001_initial"),
        ("catalog", "0002_staff_groups"),
    ]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
