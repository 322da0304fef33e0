"""The variant's admin form: its fields, and its stock change or count (see VariantForm)."""

from typing import Any

from django import forms
from django.http import HttpRequest

from catalog import selectors, services
from catalog.admin.common import STOCK_PERMISSION
from catalog.models import Variant
from catalog.validators import MAX_QUANTITY, normalize_code
from core.actors import Actor
from stock import services as stock_services
from stock.models import NOTE_MAX_LENGTH

VARIANT_FORM_FIELDS = ("size", "sku", "barcode", "quantity", "low_stock_threshold")
# Set when a variant is created, never changed afterwards.
VARIANT_FIXED_FIELDS = ("size", "sku", "quantity")

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
    stock_note = forms.CharField(required=False, max_length=NOTE_MAX_LENGTH, label="Note")
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


def stock_form(request: HttpRequest, form: type[VariantForm]) -> type[VariantForm]:
    """The variant form for this user: stock fields work with the stock permission only."""
    allowed = request.user.has_perm(STOCK_PERMISSION)
    return type(form.__name__, (form,), {"can_change_stock": allowed})
