"""The variant admin: a variant's fields, created and changed through the catalog's services.
The stock app's admin adds its stock at each location, its stock change or count at one and
its latest movements (``stock/admin/variants.py``)."""

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.safestring import SafeString

from catalog import selectors, services
from catalog.admin.common import ServiceErrorsAsMessages, changed_values, may_edit, stock_badge
from catalog.admin.forms import VARIANT_FORM_FIELDS, VariantForm
from catalog.models import Variant
from catalog.services import VARIANT_UPDATABLE_FIELDS
from core.actors import user_actor


@admin.register(Variant)
class VariantAdmin(ServiceErrorsAsMessages):
    form = VariantForm
    list_display = ["sku", "product", "size", "barcode", "stock", "low_stock_threshold"]
    list_filter = ["size", "in_stock", "low_stock", "product__category", "product__is_active"]
    search_fields = ["sku", "barcode", "product__name"]
    list_select_related = ["product"]
    autocomplete_fields = ["product"]
    list_per_page = 100

    class Media:
        css = {"all": ["catalog/admin.css"]}

    def get_fieldsets(self, request: HttpRequest, obj: Variant | None = None) -> Any:
        return [(None, {"fields": ("product", *VARIANT_FORM_FIELDS)})]

    def get_readonly_fields(self, request: HttpRequest, obj: Variant | None = None) -> Any:
        if obj is None:
            return ()
        if not may_edit(request, Variant):
            return ("product", *VARIANT_FORM_FIELDS)
        return ("product",)

    @admin.display(description="Stock", ordering="quantity")
    def stock(self, variant: Variant) -> SafeString:
        return stock_badge(variant)

    def has_delete_permission(self, request: HttpRequest, obj: Variant | None = None) -> bool:
        if obj is not None and selectors.variant_ids_with_history([obj.pk]):
            return False
        return super().has_delete_permission(request, obj)

    def save_model(self, request: HttpRequest, obj: Variant, form: Any, change: bool) -> None:
        if change:
            services.variant_update(
                variant=Variant.objects.get(pk=obj.pk),
                data=changed_values(form, VARIANT_UPDATABLE_FIELDS),
            )
            return
        created = services.variant_create(
            product=form.cleaned_data["product"],
            size=form.cleaned_data["size"],
            quantity=form.cleaned_data["quantity"],
            sku=form.cleaned_data["sku"] or None,
            barcode=form.cleaned_data["barcode"],
            low_stock_threshold=form.cleaned_data["low_stock_threshold"],
            actor=user_actor(request.user),
        )
        obj.pk, obj.sku = created.pk, created.sku
        obj._state.adding = False

    def delete_model(self, request: HttpRequest, obj: Variant) -> None:
        services.variant_delete(variant=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Variant]) -> None:
        for variant in queryset:
            services.variant_delete(variant=variant)
