from django.apps import AppConfig


class StockConfig(AppConfig):
    name = "stock"
    verbose_name = "Stock"

    def ready(self) -> None:
        from catalog import locations
        from core.api import key_options
        from stock.api_keys import CREATE_API_KEY_LOCATION
        from stock.selectors import location_for_stock

        # The catalog names locations by code (its reads at a location, a new variant's opening
        # stock) but may not import stock, which imports it: it takes the resolver from here.
        locations.register(location_for_stock)
        # The kernel's create_api_key takes --location from here, for the same reason.
        key_options.register(CREATE_API_KEY_LOCATION)
