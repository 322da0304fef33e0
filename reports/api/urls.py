from django.urls import path

from reports.api.views import SalesView, StockValueView

urlpatterns = [
    path("reports/stock-value/", StockValueView.as_view(), name="report-stock-value"),
    path("reports/sales/", SalesView.as_view(), name="report-sales"),
]
