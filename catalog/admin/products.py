"""The product admin: a product with its variants, archived rather than deleted. The stock
app's admin adds the variants' stock changes and the CSV import and export
(``stock/admin/products.py``)."""

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html_join
from django.utils.safestring import SafeString

from catalog import selectors, services
from catalog.admin.common import ServiceErrorsAsMessages, changed_values, may_edit, stock_badge
from catalog.admin.filters import StockStateFilter
from catalog.admin.inlines import VariantInline
from catalog.models import Product, Variant
from catalog.services import PRODUCT_FIELDS, VARIANT_UPDATABLE_FIELDS
from core.actors import Actor, user_actor


@admin.register(Product)
class ProductAdmin(ServiceErrorsAsMessages):
    fields = PRODUCT_FIELDS
    inlines = [VariantInline]
    list_display = ["name", "category", "collection", "color", "price", "stock", "is_active"]
    list_filter = ["category", "collection", StockStateFilter, "is_active"]
    search_fields = ["name", "color", "variants__sku", "variants__barcode"]
    list_per_page = 50
    actions = ["archive", "unarchive"]

    class Media:
        css = {"all": ["catalog/admin.css"]}

    def get_queryset(self, request: HttpRequest) -> QuerySet[Product]:
        return selectors.product_list()

    @admin.display(description="Stock by size")
    def stock(self, product: Product) -> SafeString:
        return format_html_join(" ", "{}", ((stock_badge(v),) for v in product.variants.all()))

    def has_delete_permission(self, request: HttpRequest, obj: Product | None = None) -> bool:
        if obj is not None and selectors.variant_ids_with_history(
            [variant.pk for variant in obj.variants.all()]
        ):
            return False
        return super().has_delete_permission(request, obj)

    def save_model(self, request: HttpRequest, obj: Product, form: Any, change: bool) -> None:
        if change:
            current = Product.objects.get(pk=obj.pk)
            services.product_update(product=current, data=changed_values(form, PRODUCT_FIELDS))
            return
        created = services.product_create(
            **{field: form.cleaned_data[field] for field in PRODUCT_FIELDS},
            actor=user_actor(request.user),
        )
        # The admin goes on with ``obj`` (inlines, log entry, redirect): make it the saved row.
        obj.pk = created.pk
        obj._state.adding = False
        obj.collection, obj.created_at, obj.updated_at = (
            created.collection,
            created.created_at,
            created.updated_at,
        )

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        # Sort the forms into new, changed and deleted objects without writing anything, then
        # write each through the services.
        formset.save(commit=False)
        for variant in formset.deleted_objects:
            services.variant_delete(variant=variant)
        actor = user_actor(request.user)
        for variant, _fields in formset.changed_objects:
            self.save_variant_change(next(f for f in formset.forms if f.instance is variant), actor)
        for variant in formset.new_objects:
            services.variant_create(
                product=form.instance,
                size=variant.size,
                quantity=variant.quantity,
                sku=variant.sku or None,
                barcode=variant.barcode,
                low_stock_threshold=variant.low_stock_threshold,
                actor=actor,
            )

    def save_variant_change(self, form: Any, actor: Actor) -> None:
        """Write what one existing variant's row changed (the stock admin adds its stock)."""
        services.variant_update(
            variant=Variant.objects.get(pk=form.instance.pk),
            data=changed_values(form, VARIANT_UPDATABLE_FIELDS),
        )

    def delete_model(self, request: HttpRequest, obj: Product) -> None:
        services.product_delete(product=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Product]) -> None:
        for product in queryset:
            services.product_delete(product=product)

    def get_readonly_fields(self, request: HttpRequest, obj: Product | None = None) -> Any:
        return PRODUCT_FIELDS if obj is not None and not may_edit(request, Product) else ()

    def has_edit_permission(self, request: HttpRequest) -> bool:
        """Editing the catalog, as opposed to opening a product to change its stock."""
        return may_edit(request, Product)

    @admin.action(description="Archive the selected products", permissions=["edit"])
    def archive(self, request: HttpRequest, queryset: QuerySet[Product]) -> None:
        self._set_active(request, queryset, active=False)

    @admin.action(description="Make the selected products active again", permissions=["edit"])
    def unarchive(self, request: HttpRequest, queryset: QuerySet[Product]) -> None:
        self._set_active(request, queryset, active=True)

    def _set_active(
        self, request: HttpRequest, queryset: QuerySet[Product], *, active: bool
    ) -> None:
        for product in queryset:
            services.product_update(product=product, data={"is_active": active})
        self.message_user(
            request,
            f"{queryset.count()} product(s) {'made active' if active else 'archived'}.",
            messages.SUCCESS,
        )
