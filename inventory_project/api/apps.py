from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "inventory_project.api"
    label = "api"
    verbose_name = "API access"

    def ready(self) -> None:
        from inventory_project.api import checks, schema_auth  # noqa: F401 - they register
