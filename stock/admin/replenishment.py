"""The admin's "Replenishment" page: choose the location to replenish and the one to send from,
see what each low level there needs (``stock.replenishment.replenishment_lines``), and turn it
into a draft transfer (``replenishment_transfer_create``), as the API does."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import urlencode

from core.actors import user_actor
from core.exceptions import ApplicationError
from stock.admin.common import STOCK_PERMISSION
from stock.models import Location, Transfer
from stock.replenishment import replenishment_lines, replenishment_transfer_create
from stock.selectors import location_list

VIEW_PERMISSION = "catalog.view_variant"


class ReplenishmentForm(forms.Form):
    """Two different active locations, by code."""

    to = forms.ChoiceField(label="Replenish")
    source = forms.ChoiceField(label="from")

    def __init__(self, *args: Any, locations: list[Location], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.locations = {location.code: location for location in locations}
        choices = [("", "—"), *((code, str(loc)) for code, loc in self.locations.items())]
        self.fields["to"].choices = choices  # type: ignore[attr-defined]
        self.fields["source"].choices = choices  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("to") and data.get("to") == data.get("source"):
            self.add_error("source", "Replenish from another location than the one replenished.")
        return data

    @property
    def to_location(self) -> Location:
        return self.locations[self.cleaned_data["to"]]

    @property
    def from_location(self) -> Location:
        return self.locations[self.cleaned_data["source"]]


def replenishment(request: HttpRequest) -> HttpResponse:
    """GET ``?to=CODE&source=CODE``: the suggestion. POST the same: a draft transfer of it,
    then the transfer's admin page if transfers have one, else this page again with its
    number. Three queries for the suggestion, whatever its length."""
    if not request.user.has_perm(VIEW_PERMISSION):
        raise PermissionDenied
    may_draft = request.user.has_perm(STOCK_PERMISSION)
    data = request.POST if request.method == "POST" else request.GET
    form = ReplenishmentForm(
        data if data.get("to") or data.get("source") else None,
        locations=list(location_list().filter(is_active=True)),
    )
    if request.method == "POST" and form.is_valid():
        if not may_draft:
            raise PermissionDenied
        chosen = {"to": form.to_location.code, "source": form.from_location.code}
        back = f"{request.path}?{urlencode(chosen)}"
        try:
            transfer = replenishment_transfer_create(
                to_location=form.to_location,
                from_location=form.from_location,
                actor=user_actor(request.user),
                note=request.POST.get("note", ""),
            )
        except (ApplicationError, ValidationError) as error:
            text = (
                error.message if isinstance(error, ApplicationError) else " ".join(error.messages)
            )
            messages.error(request, f"No transfer was drafted: {text}")
            return HttpResponseRedirect(back)
        units = sum(line.quantity for line in transfer.lines.all())
        messages.success(
            request,
            f"Draft transfer {transfer.number} from {transfer.from_location.code} to "
            f"{transfer.to_location.code}: {units} units. Nothing moves until it is shipped.",
        )
        if admin.site.is_registered(Transfer):
            return HttpResponseRedirect(reverse("admin:stock_transfer_change", args=[transfer.pk]))
        return HttpResponseRedirect(back)
    lines = (
        replenishment_lines(to_location=form.to_location, from_location=form.from_location)
        if form.is_bound and form.is_valid()
        else None
    )
    context = {
        **admin.site.each_context(request),
        "title": "Replenishment",
        "form": form,
        "lines": lines,
        "suggested_units": sum(line.suggested for line in lines or []),
        "may_draft": may_draft,
    }
    return TemplateResponse(request, "admin/stock/replenishment.html", context)
