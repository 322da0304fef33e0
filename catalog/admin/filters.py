"""The product list's filters."""

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest


class StockStateFilter(admin.SimpleListFilter):
    title = "stock"
    parameter_name = "stock"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("in", "In stock"), ("low", "Low on stock"), ("out", "Sold out")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if value == "in":
            return queryset.with_variant(in_stock=True)  # type: ignore[attr-defined, no-any-return]
        if value == "out":
            return queryset.with_variant(in_stock=False)  # type: ignore[attr-defined, no-any-return]
        if value == "low":
            return queryset.filter(variants__low_stock=True).distinct()
        return queryset
