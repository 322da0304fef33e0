"""A product's variants, edited on the product's page."""

from typing import Any, ClassVar

from django import forms
from django.contrib import admin
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest
from django.utils.safestring import SafeString

from catalog import selectors
from catalog.admin.common import may_edit, stock_badge
from catalog.admin.forms import VARIANT_FORM_FIELDS, VariantForm
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


class VariantInline(admin.TabularInline):  # type: ignore[type-arg]
    model = Variant
    form = VariantForm
    formset = VariantInlineFormSet
    # Each variant laid out as a card with a label per field (see catalog/admin.css), so the
    # page fits a laptop's width and a phone's.
    template = "admin/catalog/product/variant_inline.html"
    fields: ClassVar[tuple[str, ...]] = (*VARIANT_FORM_FIELDS, "stock")
    readonly_fields = ["stock"]
    extra = 0
    max_num = 3

    @admin.display(description="Stock")
    def stock(self, variant: Variant) -> SafeString | str:
        return stock_badge(variant) if variant.pk else "-"

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is not None and not may_edit(request, Variant):
            return ("stock", *VARIANT_FORM_FIELDS)
        return ("stock",)
