"""The product admin with its stock: the catalog's (``catalog.admin.products``), registered again
here with a stock change or count on each variant's row and the list's CSV import and export,
which carry quantities at locations. The catalog may not import the stock app, which sits above
it, so the stock app extends the catalog's admin, as Django's documentation extends the User
admin."""

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe

from catalog.admin.forms import VARIANT_FORM_FIELDS
from catalog.admin.inlines import VariantInline
from catalog.admin.products import ProductAdmin
from catalog.models import Product, Variant
from core.actors import Actor
from stock.admin.common import StockOrModelChange
from stock.admin.forms import STOCK_FORM_FIELDS, StockVariantForm, stock_form
from stock.admin.imports import ImportExportAdminMixin
from stock.selectors import product_stock_grid


class StockVariantInline(StockOrModelChange, VariantInline):
    form = StockVariantForm
    fields = (*VARIANT_FORM_FIELDS, "stock", *STOCK_FORM_FIELDS, "on_hand_seen")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Variant]:
        # Each row's form checks a change against its level at the location chosen.
        return super().get_queryset(request).prefetch_related("stock_levels")

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        # On a new product, variants start with their opening quantity; no stock changes yet.
        if obj is None:
            return VariantInline.fields
        return self.fields

    def get_formset(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        return super().get_formset(request, obj, form=stock_form(request, self.form), **kwargs)


admin.site.unregister(Product)


@admin.register(Product)
class StockProductAdmin(ImportExportAdminMixin, StockOrModelChange, ProductAdmin):
    inlines = [StockVariantInline]

    def get_fieldsets(self, request: HttpRequest, obj: Product | None = None) -> Any:
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None:
            return fieldsets
        return [*fieldsets, ("Stock by size and location", {"fields": ("stock_grid",)})]

    def get_readonly_fields(self, request: HttpRequest, obj: Product | None = None) -> Any:
        readonly = super().get_readonly_fields(request, obj)
        return readonly if obj is None else (*readonly, "stock_grid")

    @admin.display(description="Stock")
    def stock_grid(self, product: Product) -> SafeString:
        """Each size at each location: on hand, committed, available, incoming (two queries;
        the variants come with the product)."""
        grid = product_stock_grid(list(product.variants.all()))
        return mark_safe(  # noqa: S308 - rendered by a template, which escapes every value
            render_to_string("admin/catalog/product/stock_grid.html", {"grid": grid})
        )

    def save_variant_change(self, form: Any, actor: Actor) -> None:
        super().save_variant_change(form, actor)
        form.apply_stock(actor)
