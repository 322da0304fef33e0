"""A product's variants, edited on the product's page."""

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest
from django.utils.safestring import SafeString

from catalog import selectors
from catalog.admin.common import StockOrModelChange, may_edit, stock_badge
from catalog.admin.forms import STOCK_FORM_FIELDS, VARIANT_FORM_FIELDS, VariantForm, stock_form
from catalog.models import Variant


class VariantInlineFormSet(BaseInlineFormSet):  # type: ignore[type-arg]
    def clean(self) -> None:
        super().clean()
        deleted = [form.instance for form in self.deleted_forms if form.instance.pk]
        kept = selectors.variant_ids_with_history([variant.pk for variant in deleted])
        if kept:
            skus = ", ".join(variant.sku for variant in deleted if variant.pk in kept)
            raise forms.ValidationError(
                "Variants with stock or stock history cannot be deleted (%(skus)s); archive the "
                "product instead.",
                params={"skus": skus},
            )


class VariantInline(StockOrModelChange, admin.TabularInline):  # type: ignore[type-arg]
    model = Variant
    form = VariantForm
    formset = VariantInlineFormSet
    # Each variant laid out as a card with a label per field (see catalog/admin.css), so the
    # page fits a laptop's width and a phone's.
    template = "admin/catalog/product/variant_inline.html"
    fields = (*VARIANT_FORM_FIELDS, "stock", *STOCK_FORM_FIELDS, "on_hand_seen")
    readonly_fields = ["stock"]
    extra = 0
    max_num = 3

    @admin.display(description="Stock")
    def stock(self, variant: Variant) -> SafeString | str:
        return stock_badge(variant) if variant.pk else "-"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Variant]:
        # Each row's form checks a change against its level at the location chosen.
        return super().get_queryset(request).prefetch_related("stock_levels")

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        # On a new product, variants start with their opening quantity; no stock changes yet.
        if obj is None:
            return (*VARIANT_FORM_FIELDS, "stock")
        return self.fields

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is not None and not may_edit(request, Variant):
            return ("stock", *VARIANT_FORM_FIELDS)
        return ("stock",)

    def get_formset(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        return super().get_formset(request, obj, form=stock_form(request, self.form), **kwargs)
