from django.apps import AppConfig


class StockConfig(AppConfig):
    name = "stock"
    verbose_name = "Stock"

    def ready(self) -> None:
        from catalog import locations
        from stock.selectors import location_for_stock

        # The catalog names locations by code (its reads at a location, a new variant's opening
        # stock) but may not import stock, which imports it: it takes the resolver from here.
        locations.register(location_for_stock)
