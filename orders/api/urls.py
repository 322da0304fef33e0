from django.urls import path
from rest_framework.routers import SimpleRouter

from orders.api.reports import SalesView, StockValueView
from orders.api.views import OrderViewSet

router = SimpleRouter()
router.register("orders", OrderViewSet, basename="order")

urlpatterns = [
    *router.urls,
    path("reports/stock-value/", StockValueView.as_view(), name="report-stock-value"),
    path("reports/sales/", SalesView.as_view(), name="report-sales"),
]
