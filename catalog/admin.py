"""The admin for store staff. It saves through the same services as the API, so the same rules
hold: stock changes only through the ledger (with the staff user as actor), SKUs never change
nor come back, and nothing with stock or history is deleted. The ledger's own admin, read-only,
is in stock/admin.py."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from catalog import selectors, services
from catalog.admin_imports import ImportExportAdminMixin
from catalog.models import Product, Variant
from catalog.services import PRODUCT_FIELDS, VARIANT_UPDATABLE_FIELDS
from catalog.validators import MAX_QUANTITY, normalize_code
from core.actors import Actor, user_actor
from core.exceptions import ApplicationError
from stock import services as stock_services
from stock.models import MovementReason
from stock.receiving import RECEIVE_REASONS, ReceiveLine, stock_receive

RECENT_MOVEMENTS = 10
STOCK_PERMISSION = "catalog.change_stock"

VARIANT_FORM_FIELDS = ("size", "sku", "barcode", "quantity", "low_stock_threshold")
# Set when a variant is created, never changed afterwards.
VARIANT_FIXED_FIELDS = ("size", "sku", "quantity")


def stock_badge(variant: Variant) -> SafeString:
    if not variant.in_stock:
        css, label = "stock-out", "out of stock"
    elif variant.low_stock:
        css, label = "stock-low", "low"
    else:
        css, label = "stock-ok", "in stock"
    return format_html(
        '<span class="stock-badge {}" title="{}">{} {}</span>',
        css,
        label,
        variant.size,
        variant.quantity,
    )


STOCK_FORM_FIELDS = ("stock_change", "stock_reason", "counted_quantity", "stock_note")


class VariantForm(forms.ModelForm):  # type: ignore[type-arg]
    """A variant; once it exists, its stock changes by a signed change with a reason, or by a
    counted quantity, both recorded as movements by the stock service. ``can_change_stock`` is
    set per user by the admin (the ``catalog.change_stock`` permission)."""

    can_change_stock = False

    stock_change = forms.IntegerField(
        required=False,
        min_value=-MAX_QUANTITY,
        max_value=MAX_QUANTITY,
        label="Change",
        help_text="e.g. 12 received, -1 damaged",
    )
    stock_reason = forms.ChoiceField(
        required=False,
        label="Reason",
        choices=[("", "---------"), *stock_services.MANUAL_REASON_CHOICES],
    )
    counted_quantity = forms.IntegerField(
        required=False,
        min_value=0,
        max_value=MAX_QUANTITY,
        label="Counted",
        help_text="Or the quantity counted on the shelf",
    )
    stock_note = forms.CharField(
        required=False, max_length=stock_services.NOTE_MAX_LENGTH, label="Note"
    )
    # The quantity shown when the page was drawn: a count against it is refused if a sale or
    # another change came in meanwhile.
    quantity_seen = forms.IntegerField(required=False, widget=forms.HiddenInput)

    class Meta:
        model = Variant
        fields = VARIANT_FORM_FIELDS

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        existing = bool(self.instance.pk)
        if existing:
            for field in VARIANT_FIXED_FIELDS:
                if field in self.fields:
                    self.fields[field].disabled = True
            if "quantity" in self.fields:
                self.fields["quantity"].help_text = "Changed through stock movements."
            self.fields["quantity_seen"].initial = self.instance.quantity
        elif "sku" in self.fields:
            self.fields["sku"].required = False
            self.fields["sku"].help_text = "Leave empty to generate one."
            # The product page's variant cards show no help texts (they would repeat on every
            # card): the box itself says it.
            self.fields["sku"].widget.attrs["placeholder"] = "generated if empty"
        if not (existing and self.can_change_stock):
            # A new variant starts with its opening quantity, and users without the stock
            # permission see no stock columns that work (they stay, disabled, so that an
            # inline's columns line up).
            for field in (*STOCK_FORM_FIELDS, "quantity_seen"):
                self.fields[field].disabled = True

    def clean_sku(self) -> str | None:
        sku = normalize_code(self.cleaned_data.get("sku") or "")
        if sku and not self.instance.pk and selectors.issued_skus([sku]):
            raise forms.ValidationError(services.SKU_TAKEN)
        # None, not "": two new rows that both leave it empty are not duplicates.
        return sku or None

    def clean_barcode(self) -> str | None:
        return (self.cleaned_data.get("barcode") or "").strip() or None

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not (self.instance.pk and self.can_change_stock):
            return data
        change, count = data.get("stock_change"), data.get("counted_quantity")
        reason, note = data.get("stock_reason") or "", data.get("stock_note") or ""
        if change is not None and count is not None:
            raise forms.ValidationError("Give either a change or a counted quantity, not both.")
        if change is not None:
            self._check_change(change, reason)
        elif reason:
            self.add_error("stock_change", "Give the change that goes with the reason.")
        elif note and count is None:
            self.add_error("stock_note", "A note goes with a change or a count.")
        return data

    def _check_change(self, change: int, reason: str) -> None:
        errors = stock_services.stock_reason_errors(reason=reason, delta=change)
        for field, message in errors.items():
            self.add_error("stock_reason" if field == "reason" else "stock_change", message)
        if errors:
            return
        after = self.instance.quantity + change
        if after < 0:
            self.add_error(
                "stock_change", f"Only {self.instance.quantity} in stock; nothing was changed."
            )
        elif after > MAX_QUANTITY:
            self.add_error("stock_change", f"A quantity cannot exceed {MAX_QUANTITY}.")

    def apply_stock(self, actor: Actor) -> None:
        """Record the stock change or count given in the form, if any."""
        if not self.can_change_stock:
            return
        data = self.cleaned_data
        if data.get("stock_change") is not None:
            stock_services.stock_adjust(
                variant_id=self.instance.pk,
                delta=data["stock_change"],
                reason=data["stock_reason"],
                actor=actor,
                note=data.get("stock_note", ""),
            )
        elif data.get("counted_quantity") is not None:
            stock_services.stock_count(
                variant_id=self.instance.pk,
                quantity=data["counted_quantity"],
                expected_quantity=data.get("quantity_seen"),
                actor=actor,
                note=data.get("stock_note", ""),
            )


def _stock_form(request: HttpRequest, form: type[VariantForm]) -> type[VariantForm]:
    """The variant form for this user: stock fields work with the stock permission only."""
    allowed = request.user.has_perm(STOCK_PERMISSION)
    return type(form.__name__, (form,), {"can_change_stock": allowed})


def _may_edit(request: HttpRequest, model: type[Product | Variant]) -> bool:
    return request.user.has_perm(f"catalog.change_{model._meta.model_name}")


class StockOrModelChange:
    """Staff with the stock permission (store staff) may open an existing variant, or a product
    with its variants, to change stock even without the permission to edit it; the page's
    model fields are then read-only (see each admin's ``get_readonly_fields``)."""

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_change_permission(request, obj) or (  # type: ignore[misc]
            obj is not None and request.user.has_perm(STOCK_PERMISSION)
        )


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
    fields = (*VARIANT_FORM_FIELDS, "stock", *STOCK_FORM_FIELDS, "quantity_seen")
    readonly_fields = ["stock"]
    extra = 0
    max_num = 3

    @admin.display(description="Stock")
    def stock(self, variant: Variant) -> SafeString | str:
        return stock_badge(variant) if variant.pk else "-"

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        # On a new product, variants start with their opening quantity; no stock changes yet.
        if obj is None:
            return (*VARIANT_FORM_FIELDS, "stock")
        return self.fields

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is not None and not _may_edit(request, Variant):
            return ("stock", *VARIANT_FORM_FIELDS)
        return ("stock",)

    def get_formset(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        return super().get_formset(request, obj, form=_stock_form(request, self.form), **kwargs)


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


class ServiceErrorsAsMessages(admin.ModelAdmin):  # type: ignore[type-arg]
    """A domain error that the forms could not foresee (stock taken by a sale a moment ago)
    rolls back the whole save and comes back to the page as a message, not a server error."""

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except (ApplicationError, ValidationError) as error:
            message = (
                error.message if isinstance(error, ApplicationError) else " ".join(error.messages)
            )
            self.message_user(request, f"Nothing was saved: {message}", messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())


def _changed(form: forms.ModelForm, fields: tuple[str, ...]) -> dict[str, Any]:  # type: ignore[type-arg]
    return {field: form.cleaned_data[field] for field in form.changed_data if field in fields}


@admin.register(Product)
class ProductAdmin(ImportExportAdminMixin, StockOrModelChange, ServiceErrorsAsMessages):
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
            services.product_update(product=current, data=_changed(form, PRODUCT_FIELDS))
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
            variant_form = next(f for f in formset.forms if f.instance is variant)
            services.variant_update(
                variant=Variant.objects.get(pk=variant.pk),
                data=_changed(variant_form, VARIANT_UPDATABLE_FIELDS),
            )
            variant_form.apply_stock(actor)
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

    def delete_model(self, request: HttpRequest, obj: Product) -> None:
        services.product_delete(product=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Product]) -> None:
        for product in queryset:
            services.product_delete(product=product)

    def get_readonly_fields(self, request: HttpRequest, obj: Product | None = None) -> Any:
        return PRODUCT_FIELDS if obj is not None and not _may_edit(request, Product) else ()

    def has_edit_permission(self, request: HttpRequest) -> bool:
        """Editing the catalog, as opposed to opening a product to change its stock."""
        return _may_edit(request, Product)

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


RECEIVE_MAX_VARIANTS = 200
RECEIVE_REASON_CHOICES = [(reason.value, reason.label) for reason in RECEIVE_REASONS]


class ReceiveForm(forms.Form):
    variant = forms.IntegerField(widget=forms.HiddenInput)
    quantity = forms.IntegerField(min_value=0, max_value=MAX_QUANTITY, initial=0)
    reason = forms.ChoiceField(choices=RECEIVE_REASON_CHOICES, initial=MovementReason.RECEIVED)


class BaseReceiveFormSet(forms.BaseFormSet):  # type: ignore[type-arg]
    def clean(self) -> None:
        if any(self.errors):
            return
        if not any(form.cleaned_data.get("quantity") for form in self.forms):
            raise ValidationError("Enter a quantity for at least one variant.")


ReceiveFormSet = forms.formset_factory(ReceiveForm, formset=BaseReceiveFormSet, extra=0)


def _rows_match(formset: "forms.BaseFormSet[forms.Form]", variants: list[Variant]) -> bool:
    """The posted rows name exactly the selected variants, one row each."""
    try:
        if formset.total_form_count() != len(variants):
            return False
    except ValidationError:  # no or a broken management form
        return False
    posted = [form["variant"].value() for form in formset.forms]
    return sorted(str(value) for value in posted) == sorted(str(v.pk) for v in variants)


def receive_lines(
    *, formset: "forms.BaseFormSet[forms.Form]", variants: list[Variant]
) -> list[ReceiveLine]:
    """The delivery's lines from the form: the rows with a quantity, each of a selected variant."""
    selected = {variant.pk for variant in variants}
    lines = []
    for form in formset.forms:
        data = form.cleaned_data
        if data["variant"] not in selected:
            raise ApplicationError("The delivery names a variant that was not selected.")
        if data["quantity"]:
            lines.append(
                ReceiveLine(
                    variant_id=data["variant"], quantity=data["quantity"], reason=data["reason"]
                )
            )
    return lines


@admin.register(Variant)
class VariantAdmin(StockOrModelChange, ServiceErrorsAsMessages):
    form = VariantForm
    list_display = ["sku", "product", "size", "barcode", "stock", "low_stock_threshold"]
    list_filter = ["size", "in_stock", "low_stock", "product__category", "product__is_active"]
    search_fields = ["sku", "barcode", "product__name"]
    list_select_related = ["product"]
    autocomplete_fields = ["product"]
    list_per_page = 100
    actions = ["receive_stock"]

    class Media:
        css = {"all": ["catalog/admin.css"]}

    @admin.action(description="Receive stock for the selected variants", permissions=["stock"])
    def receive_stock(
        self, request: HttpRequest, queryset: QuerySet[Variant]
    ) -> HttpResponse | None:
        """A delivery for several variants at once: a quantity and a reason per variant, applied
        all or nothing through the stock service, the staff user as actor."""
        variants = list(queryset.select_related("product").order_by("product__name", "pk"))
        if len(variants) > RECEIVE_MAX_VARIANTS:
            self.message_user(
                request,
                f"Select at most {RECEIVE_MAX_VARIANTS} variants for one delivery.",
                messages.ERROR,
            )
            return None
        initial = [{"variant": variant.pk} for variant in variants]
        formset = ReceiveFormSet(
            request.POST if "apply" in request.POST else None, initial=initial, prefix="receive"
        )
        if "apply" in request.POST and not _rows_match(formset, variants):
            # The selection changed since the form was shown (a variant left the list's filter)
            # or the form was tampered with: show the current selection again, unchanged.
            self.message_user(
                request,
                "The selected variants changed since the form was shown; nothing was received. "
                "Check the quantities again.",
                messages.WARNING,
            )
            formset = ReceiveFormSet(initial=initial, prefix="receive")
        elif "apply" in request.POST and formset.is_valid():
            try:
                result = stock_receive(
                    receive_lines(formset=formset, variants=variants),
                    actor=user_actor(request.user),
                )
            except ApplicationError as error:
                self.message_user(request, error.message, messages.ERROR)
            except ValidationError as error:
                self.message_user(request, " ".join(error.messages), messages.ERROR)
            else:
                self.message_user(
                    request,
                    f"Received {result.units} units for {result.variant_count} variants.",
                    messages.SUCCESS,
                )
                return None
        rows = {str(form["variant"].value()): form for form in formset.forms}
        context = {
            **self.admin_site.each_context(request),
            "title": "Receive stock",
            "opts": self.model._meta,
            # Each variant with its own row (the posted rows match the selection, see above).
            "rows": [(variant, rows[str(variant.pk)]) for variant in variants],
            "formset": formset,
            "selected": [variant.pk for variant in variants],
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/catalog/variant/receive_stock.html", context)

    def has_stock_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(STOCK_PERMISSION)

    def get_fieldsets(self, request: HttpRequest, obj: Variant | None = None) -> Any:
        if obj is None:
            return [(None, {"fields": ("product", *VARIANT_FORM_FIELDS)})]
        return [
            (None, {"fields": ("product", *VARIANT_FORM_FIELDS)}),
            (
                "Change the stock",
                {
                    "fields": (*STOCK_FORM_FIELDS, "quantity_seen"),
                    "description": "A change with its reason, or the quantity counted on the "
                    "shelf. Either is recorded as a stock movement with you as its actor.",
                },
            ),
            ("Stock history", {"fields": ("recent_movements",)}),
        ]

    def get_readonly_fields(self, request: HttpRequest, obj: Variant | None = None) -> Any:
        if obj is None:
            return ()
        if not _may_edit(request, Variant):
            return ("product", *VARIANT_FORM_FIELDS, "recent_movements")
        return ("product", "recent_movements")

    def get_form(
        self, request: HttpRequest, obj: Variant | None = None, change: bool = False, **kwargs: Any
    ) -> Any:
        return super().get_form(
            request, obj, change, form=_stock_form(request, self.form), **kwargs
        )

    @admin.display(description="Latest movements")
    def recent_movements(self, variant: Variant) -> SafeString:
        movements = selectors.stock_movement_list().filter(variant=variant)[:RECENT_MOVEMENTS]
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    m.created_at.strftime("%Y-%m-%d %H:%M"),
                    m.get_reason_display(),
                    f"{m.delta:+d}",
                    m.quantity_after,
                    m.actor,
                    m.note or m.reference,
                )
                for m in movements
            ),
        )
        url = reverse("admin:stock_stockmovement_changelist") + f"?variant__id__exact={variant.pk}"
        return format_html(
            '<table class="stock-history"><thead><tr><th>When</th><th>Reason</th><th>Change</th>'
            "<th>After</th><th>By</th><th>Note</th></tr></thead><tbody>{}</tbody></table>"
            '<p><a href="{}">All movements of {}</a></p>',
            rows,
            url,
            variant.sku,
        )

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
                data=_changed(form, VARIANT_UPDATABLE_FIELDS),
            )
            form.apply_stock(user_actor(request.user))
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
