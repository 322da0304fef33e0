from django.apps import AppConfig
from django.db.models.signals import post_delete, post_migrate, post_save


class ApiConfig(AppConfig):
    name = "core.api"
    label = "api"
    verbose_name = "API access"

    def ready(self) -> None:
        from core.api import checks, schema_auth  # noqa: F401 - they register
        from core.api.key_cache import KEYS_VERSION
        from core.api.models import ApiKey

        # Every save and delete of a key, from any door, retires what processes remember.
        post_save.connect(KEYS_VERSION.changed, sender=ApiKey, dispatch_uid="keys-version-save")
        post_delete.connect(KEYS_VERSION.changed, sender=ApiKey, dispatch_uid="keys-version-delete")
        post_migrate.connect(KEYS_VERSION.changed, sender=self, dispatch_uid="keys-version-migrate")
