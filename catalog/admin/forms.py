"""The variant's admin form: its fields, fixed once it exists but for its barcode and threshold
(see VariantForm). The stock app's admin adds its stock change or count at a location
(``stock/admin/forms.py``)."""

from typing import Any

from django import forms

from catalog import selectors, services
from catalog.models import Variant
from catalog.validators import normalize_code

VARIANT_FORM_FIELDS = ("size", "sku", "barcode", "quantity", "low_stock_threshold")
# Set when a variant is created, never changed afterwards.
VARIANT_FIXED_FIELDS = ("size", "sku", "quantity")


class VariantForm(forms.ModelForm):  # type: ignore[type-arg]
    """A variant: a new one with its opening quantity and a SKU given or generated; once it
    exists, only its barcode and low-stock threshold change here."""

    class Meta:
        model = Variant
        fields = VARIANT_FORM_FIELDS

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            for field in VARIANT_FIXED_FIELDS:
                if field in self.fields:
                    self.fields[field].disabled = True
            if "quantity" in self.fields:
                help_text = "Available over every location; changed through stock movements."
                self.fields["quantity"].help_text = help_text
        elif "sku" in self.fields:
            self.fields["sku"].required = False
            self.fields["sku"].help_text = "Leave empty to generate one."
            # The product page's variant cards show no help texts (they would repeat on every
            # card): the box itself says it.
            self.fields["sku"].widget.attrs["placeholder"] = "generated if empty"

    def clean_sku(self) -> str | None:
        sku = normalize_code(self.cleaned_data.get("sku") or "")
        if sku and not self.instance.pk and selectors.issued_skus([sku]):
            raise forms.ValidationError(services.SKU_TAKEN)
        # None, not "": two new rows that both leave it empty are not duplicates.
        return sku or None

    def clean_barcode(self) -> str | None:
        return (self.cleaned_data.get("barcode") or "").strip() or None
