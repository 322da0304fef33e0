"""The staff groups: "Store staff" see the catalog and handle stock; a "Manager" also edits the
catalog. Later migrations add the permissions of stock and orders to them."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

STORE_STAFF = ["view_product", "view_variant", "change_stock"]
MANAGER = [
    *STORE_STAFF,
    "add_product",
    "change_product",
    "delete_product",
    "add_variant",
    "change_variant",
    "delete_variant",
]


def create_groups(apps, schema_editor):
    # Permissions are normally created after all migrations ran; this one needs them now.
    app_config = apps.get_app_config("catalog")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None

    group_model = apps.get_model("auth", "Group")
    permission_model = apps.get_model("auth", "Permission")
    for name, codenames in (("Store staff", STORE_STAFF), ("Manager", MANAGER)):
        group, _ = group_model.objects.get_or_create(name=name)
        group.permissions.add(
            *permission_model.objects.filter(
                content_type__app_label="catalog", codename__in=codenames
            )
        )


def remove_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=["Store staff", "Manager"]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_groups, remove_groups)]
