"""The locations' admin: created and changed through the locations' services (the API keys bound
to each through the keys' one), never deleted."""

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from catalog.admin.common import ServiceErrorsAsMessages
from core.api.models import ApiKey
from core.api.permissions import LocationPermission
from stock import selectors
from stock.api_keys import location_bind_api_keys
from stock.locations import (
    LOCATION_UPDATABLE_FIELDS,
    location_change_errors,
    location_create,
    location_update,
)
from stock.models import Location


class LocationForm(forms.ModelForm):  # type: ignore[type-arg]
    """A location's fields. The two flags are the form's own, not the model form's (see
    ``LocationAdmin.get_form``): the model's validation would refuse a new default before the
    service takes it from the old one, in the same transaction. The form checks the flags'
    rules as the service does (``location_change_errors``)."""

    is_active = forms.BooleanField(
        label="Active",
        required=False,
        initial=True,
        help_text="Archived locations hold no stock and take none; one holding stock cannot be "
        "archived.",
    )
    is_default = forms.BooleanField(
        label="Default",
        required=False,
        help_text="Where a change or an order that names no location happens. Making this one "
        "the default takes that from the current one.",
    )

    class Meta:
        model = Location
        fields = ("code", "name", "kind", "api_keys")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial.setdefault("is_active", self.instance.is_active)
            self.initial.setdefault("is_default", self.instance.is_default)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        errors = location_change_errors(
            self.instance if self.instance.pk else None,
            is_active=data.get("is_active", False),
            is_default=data.get("is_default", False),
        )
        if data.get("api_keys") and not data.get("is_active", False):
            errors.setdefault("api_keys", "An archived location takes no stock: bind no key to it.")
        for field, message in errors.items():
            self.add_error(field, message)
        return data


@admin.register(Location)
class LocationAdmin(ServiceErrorsAsMessages):
    """Locations, created and changed through the same services as the API, so the same rules
    hold (one default, nothing archived while it holds stock). Never deleted: archived."""

    form = LocationForm
    list_display = ["code", "name", "kind", "is_active", "is_default", "bound_keys"]
    list_filter = ["kind", "is_active"]
    search_fields = ["code", "name"]
    filter_horizontal = ["api_keys"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Location]:
        return selectors.location_list().prefetch_related("api_keys")

    @admin.display(description="Bound API keys")
    def bound_keys(self, location: Location) -> str:
        return ", ".join(sorted(key.name for key in location.api_keys.all())) or "-"

    def formfield_for_manytomany(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "api_keys":
            # A revoked or expired key cannot act anywhere: nothing to bind.
            kwargs["queryset"] = ApiKey.objects.usable().order_by("name")
            kwargs["help_text"] = (
                "A key bound to locations (a shop's till) places orders and changes stock only "
                "at them; a key bound to none acts anywhere. Every key reads stock everywhere."
            )
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def formfield_for_dbfield(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        formfield = super().formfield_for_dbfield(db_field, request, **kwargs)
        if db_field.name == "api_keys" and formfield is not None:
            # A key is made on its own page, which shows its secret once: not from here.
            formfield.widget.can_add_related = False
        return formfield

    def get_form(
        self, request: HttpRequest, obj: Location | None = None, change: bool = False, **kwargs: Any
    ) -> Any:
        # The model form gets the model's own fields only; the admin would otherwise hand it
        # every field on the page, the flags included.
        kwargs["fields"] = LocationForm.Meta.fields
        return super().get_form(request, obj, change, **kwargs)

    def get_readonly_fields(self, request: HttpRequest, obj: Location | None = None) -> Any:
        # Files, orders and clients name a location by its code.
        return ("code",) if obj is not None else ()

    def save_model(self, request: HttpRequest, obj: Location, form: Any, change: bool) -> None:
        data = form.cleaned_data
        if change:
            saved = location_update(
                location=obj,
                data={
                    name: data[name]
                    for name in form.changed_data
                    if name in LOCATION_UPDATABLE_FIELDS
                },
            )
        else:
            saved = location_create(
                code=data["code"],
                name=data["name"],
                kind=data["kind"],
                is_active=data["is_active"],
                is_default=data["is_default"],
            )
        # The admin goes on with ``obj`` (log entry, redirect): make it the saved row.
        obj.pk, obj.code, obj.is_active, obj.is_default = (
            saved.pk,
            saved.code,
            saved.is_active,
            saved.is_default,
        )
        obj._state.adding = False

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        # The keys are bound through the service, as ``create_api_key --location`` binds them,
        # not by the form's own many-to-many save; keys the form did not offer (revoked or
        # expired ones) stay as they were.
        offered = form.fields["api_keys"].queryset
        location_bind_api_keys(
            location=form.instance, api_keys=list(form.cleaned_data["api_keys"]), among=offered
        )

    # Who manages locations is who manages the catalog, as over the API
    # (``LocationPermission``): staff who may see the catalog see them, staff who may change
    # products (the Manager group) create and change them. No group holds the location
    # model's own permissions.
    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._staff_may(
            request, LocationPermission.permission
        ) or self.has_change_permission(request, obj)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return self._staff_may(request, LocationPermission.write_permission)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._staff_may(request, LocationPermission.write_permission)

    @staticmethod
    def _staff_may(request: HttpRequest, permission: str) -> bool:
        user = request.user
        return bool(user.is_active and user.is_staff and user.has_perm(permission))

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
