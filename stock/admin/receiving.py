"""The variants' list's "Receive stock" action: a delivery for several variants at once, at one
location, applied by the stock service's ``stock_receive``."""

from collections.abc import Sequence
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from catalog.models import Variant
from catalog.validators import MAX_QUANTITY
from core.actors import user_actor
from core.exceptions import ApplicationError
from stock.admin.common import STOCK_PERMISSION
from stock.admin.forms import LocationChoiceField, active_locations
from stock.models import Location, MovementReason
from stock.receiving import RECEIVE_REASONS, ReceiveLine, stock_receive

RECEIVE_MAX_VARIANTS = 200
RECEIVE_REASON_CHOICES = [(reason.value, reason.label) for reason in RECEIVE_REASONS]


class ReceiveLocationForm(forms.Form):
    """Where the delivery arrived: one location for all its lines."""

    location = LocationChoiceField(label="Received at")

    def __init__(self, *args: Any, locations: Sequence[Location], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["location"].set_locations(locations)  # type: ignore[attr-defined]


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


class ReceiveStockAction(admin.ModelAdmin):  # type: ignore[type-arg]
    """The action, for the variant admin (which lists it in its ``actions``)."""

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
        posted = request.POST if "apply" in request.POST else None
        where = ReceiveLocationForm(posted, locations=active_locations(), prefix="receive")
        formset = ReceiveFormSet(posted, initial=initial, prefix="receive")
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
        elif "apply" in request.POST and all([where.is_valid(), formset.is_valid()]):
            try:
                result = stock_receive(
                    receive_lines(formset=formset, variants=variants),
                    actor=user_actor(request.user),
                    location=where.cleaned_data["location"],
                )
            except ApplicationError as error:
                self.message_user(request, error.message, messages.ERROR)
            except ValidationError as error:
                self.message_user(request, " ".join(error.messages), messages.ERROR)
            else:
                self.message_user(
                    request,
                    f"Received {result.units} units for {result.variant_count} variants at "
                    f"{result.movements[0].location.code}.",
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
            "where": where,
            "selected": [variant.pk for variant in variants],
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/catalog/variant/receive_stock.html", context)

    def has_stock_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(STOCK_PERMISSION)
