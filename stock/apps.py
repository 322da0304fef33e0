from django.apps import AppConfig


class StockConfig(AppConfig):
    name = "stock"
    verbose_name = "Stock"

    def ready(self) -> None:
        from core.api import key_options
        from stock.api_keys import CREATE_API_KEY_LOCATION

        key_options.register(CREATE_API_KEY_LOCATION)
