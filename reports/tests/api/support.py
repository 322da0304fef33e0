"""The reports' addresses."""

STOCK_VALUE = "/api/v1/reports/stock-value/"
SALES = "/api/v1/reports/sales/"
