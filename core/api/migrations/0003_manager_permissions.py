"""The Manager group runs the store's access in the admin: it manages API keys (view, add, change
and revoke; never delete, a revoked key stays on record), adds staff users and puts them into the
staff groups (the admin keeps managers from granting more than they hold), and lifts sign-in
lockouts (django-axes' access attempts: viewing them, and deleting them, which unlocks)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

MANAGER = "Manager"
PERMISSIONS = {
    "api": ["view_apikey", "add_apikey", "change_apikey"],
    "auth": ["view_user", "add_user", "change_user"],
    "axes": ["view_accessattempt", "delete_accessattempt"],
}


def _permissions(apps):
    # Permissions are normally created after all migrations ran; these are needed now.
    for label in PERMISSIONS:
        app_config = apps.get_app_config(label)
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    permission_model = apps.get_model("auth", "Permission")
    return [
        permission
        for label, codenames in PERMISSIONS.items()
        for permission in permission_model.objects.filter(
            content_type__app_label=label, codename__in=codenames
        )
    ]


def grant(apps, schema_editor):
    for group in apps.get_model("auth", "Group").objects.filter(name=MANAGER):
        group.permissions.add(*_permissions(apps))


def revoke(apps, schema_editor):
    for group in apps.get_model("auth", "Group").objects.filter(name=MANAGER):
        group.permissions.remove(*_permissions(apps))


class Migration(migrations.Migration):
    dependencies = [
        ("api", "0002_idempotency_keys"),
        ("catalog", "0002_staff_groups"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("axes", "0010_accessattemptexpiration"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
