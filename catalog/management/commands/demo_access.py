from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction
from django.utils import timezone

from catalog.groups import MANAGER_GROUP
from core.api.models import ApiKey, Scope
from core.api.services import api_key_create, api_key_revoke

DEMO_USERNAME = "demo"
DEMO_PASSWORD = "demo"  # noqa: S105 - a demo login on a developer's machine, printed on purpose
DEMO_KEY_NAME = "demo"
DEMO_KEY_PATTERN = rf"^{DEMO_KEY_NAME}-[0-9]{{8}}-[0-9]{{6}}-[0-9]{{6}}$"


class Command(BaseCommand):
    help = (
        "For trying the project locally: a staff login demo/demo in the Manager group and a new "
        "demo API key with every scope, printed. Never run this on a real deployment."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help="Where the server listens.")
        parser.add_argument("--port", type=int, default=8000, help="Where the server listens.")

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        # A server listening on every address is reached on this machine at 127.0.0.1.
        host = "127.0.0.1" if options["host"] in ("0.0.0.0", "::", "") else options["host"]  # noqa: S104
        base_url = f"http://{host}:{options['port']}"
        user_model = get_user_model()
        user, created = user_model.objects.get_or_create(
            username=DEMO_USERNAME, defaults={"is_staff": True}
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save(update_fields=["password"])
        user.groups.add(Group.objects.get(name=MANAGER_GROUP))

        # A key is shown only when it is made, so each run revokes the earlier demo keys (those
        # this command named, not every key whose name starts with "demo") and makes a new one.
        earlier = ApiKey.objects.filter(name__regex=DEMO_KEY_PATTERN, revoked_at=None)
        for old_key in earlier:
            api_key_revoke(api_key=old_key)
        _, raw_key = api_key_create(
            name=f"{DEMO_KEY_NAME}-{timezone.now():%Y%m%d-%H%M%S-%f}", scopes=Scope.values
        )

        self.stdout.write(
            f"Admin login:  {base_url}/admin/  user {DEMO_USERNAME}, password {DEMO_PASSWORD}"
        )
        self.stdout.write(
            "  a Manager: catalog, stock, orders and returns, API keys, staff users, lockouts"
        )
        self.stdout.write(f"Demo API key: {raw_key}")
        self.stdout.write(
            f'  curl -H "Authorization: Api-Key {raw_key}" {base_url}/api/v1/products/'
        )
