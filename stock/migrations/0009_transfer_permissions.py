"""Both staff groups handle transfers in the admin: see them, draft them, and ship, receive,
close and cancel them (the change permission). Django's own permissions of the model; none is
added."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

CODENAMES = ["view_transfer", "add_transfer", "change_transfer"]
GROUPS = ["Store staff", "Manager"]


def _permissions(apps):
    # Permissions are normally created after all migrations ran; these are needed now.
    app_config = apps.get_app_config("stock")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    return apps.get_model("auth", "Permission").objects.filter(
        content_type__app_label="stock", codename__in=CODENAMES
    )


def grant(apps, schema_editor):
    permissions = list(_permissions(apps))
    for group in apps.get_model("auth", "Group").objects.filter(name__in=GROUPS):
        group.permissions.add(*permissions)


def revoke(apps, schema_editor):
    permissions = list(_permissions(apps))
    for group in apps.get_model("auth", "Group").objects.filter(name__in=GROUPS):
        group.permissions.remove(*permissions)


class Migration(migrations.Migration):
    dependencies = [
        ("stock", "0008_count_sessions"),
        ("catalog", "0002_staff_groups"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
