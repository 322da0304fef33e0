from django.apps import AppConfig


class StockConfig(AppConfig):
    name = "stock"
    verbose_name = "Stock"

    def ready(self) -> None:
        from core.api import key_options
        from stock import catalog_port
        from stock.api_keys import CREATE_API_KEY_LOCATION

        # The catalog names locations by code (its reads at a location, a new variant's opening
        # stock) and opens new variants' stock, but may not import stock, which imports it: it
        # takes both from here.
        catalog_port.register()
        # The kernel's create_api_key takes --location from here, for the same reason.
        key_options.register(CREATE_API_KEY_LOCATION)
