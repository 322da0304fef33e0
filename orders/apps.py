from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"
    verbose_name = "Orders"

    def ready(self) -> None:
        # Stock proves its committed units against the open orders without importing this app
        # (it sits below it); the imports wait for the models to be loaded.
        from orders.selectors import order_open_committed
        from stock.reconcile import register_committed_source

        register_committed_source(order_open_committed)
