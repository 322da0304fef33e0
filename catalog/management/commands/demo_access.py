from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from catalog.groups import MANAGER_GROUP
from inventory_project.api.models import ApiKey, Scope
from inventory_project.api.services import api_key_create, api_key_revoke

DEMO_USERNAME = "demo"
DEMO_PASSWORD = "demo"  # noqa: S105 - a demo login on a developer's machine, printed on purpose
DEMO_KEY_NAME = "demo"


class Command(BaseCommand):
    help = (
        "For trying the project locally: a staff login demo/demo in the Manager group and a new "
        "demo API key with every scope, printed. Never run this on a real deployment."
    )

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        user_model = get_user_model()
        user, created = user_model.objects.get_or_create(
            username=DEMO_USERNAME, defaults={"is_staff": True}
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save(update_fields=["password"])
        user.groups.add(Group.objects.get(name=MANAGER_GROUP))

        # A key is shown only when it is made, so each run revokes the earlier demo keys and
        # makes a new one.
        for old_key in ApiKey.objects.filter(name__startswith=DEMO_KEY_NAME, revoked_at=None):
            api_key_revoke(api_key=old_key)
        _, raw_key = api_key_create(
            name=f"{DEMO_KEY_NAME}-{timezone.now():%Y%m%d-%H%M%S-%f}", scopes=Scope.values
        )

        self.stdout.write(
            f"Admin login:  http://127.0.0.1:8000/admin/  user {DEMO_USERNAME}, password {DEMO_PASSWORD}"
        )
        self.stdout.write(f"Demo API key: {raw_key}")
        self.stdout.write(
            f'  curl -H "Authorization: Api-Key {raw_key}" http://127.0.0.1:8000/api/v1/products/'
        )
