from django.apps import AppConfig
from django.db.models.signals import post_delete, post_migrate, post_save


class CatalogConfig(AppConfig):
    name = "catalog"
    verbose_name = "Catalog"

    def ready(self) -> None:
        from catalog.models import Product, Variant
        from catalog.versions import catalog_changed

        # Every save and delete of what the catalog shows, from any door (see versions).
        for model in (Product, Variant):
            post_save.connect(catalog_changed, sender=model, dispatch_uid=f"version-save-{model}")
            post_delete.connect(
                catalog_changed, sender=model, dispatch_uid=f"version-delete-{model}"
            )
        post_migrate.connect(catalog_changed, sender=self, dispatch_uid="version-migrate")
