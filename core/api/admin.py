from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest

from core.api import admin_staff  # noqa: F401 - registers staff users, lockouts
from core.api.models import ApiKey, Scope
from core.api.services import (
    api_key_create,
    api_key_revoke,
    api_key_rotate,
    api_key_update,
)
from core.exceptions import ApplicationError


class ApiKeyForm(forms.ModelForm):  # type: ignore[type-arg]
    scopes = forms.MultipleChoiceField(
        choices=Scope.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="Every key may read the catalog; tick what else it may do.",
    )

    class Meta:
        model = ApiKey
        fields = ["name", "scopes", "expires_at"]


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    form = ApiKeyForm
    list_display = ["name", "prefix", "scope_list", "created_at", "expires_at", "status"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "prefix"]
    readonly_fields = ["prefix", "created_at", "revoked_at"]
    actions = ["revoke", "rotate"]

    @admin.display(description="Scopes")
    def scope_list(self, api_key: ApiKey) -> str:
        return ", ".join(api_key.scopes) or "read only"

    @admin.display(description="Status")
    def status(self, api_key: ApiKey) -> str:
        if api_key.is_revoked:
            return "revoked"
        return "expired" if api_key.is_expired() else "active"

    def save_model(self, request: HttpRequest, obj: ApiKey, form: Any, change: bool) -> None:
        if change:
            api_key_update(
                api_key=obj,
                name=form.cleaned_data["name"],
                scopes=form.cleaned_data["scopes"],
                expires_at=form.cleaned_data["expires_at"],
            )
            return
        created, raw_key = api_key_create(
            name=form.cleaned_data["name"],
            scopes=form.cleaned_data["scopes"],
            expires_at=form.cleaned_data["expires_at"],
        )
        obj.pk, obj.prefix, obj.hashed_key = created.pk, created.prefix, created.hashed_key
        obj._state.adding = False
        messages.warning(
            request,
            f"The key for {created.name} is {raw_key} — copy it now: it is not stored and will "
            "not be shown again.",
        )

    @admin.action(description="Revoke the selected keys", permissions=["change"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        for api_key in queryset:
            api_key_revoke(api_key=api_key)
        self.message_user(request, f"{queryset.count()} key(s) revoked.", messages.SUCCESS)

    @admin.action(
        description="Rotate the selected key (a new secret; the old one is revoked)",
        permissions=["change"],
    )
    def rotate(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        # One at a time: each new secret is shown once, and one message is easy to copy from.
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one key to rotate.", messages.ERROR)
            return
        try:
            api_key, raw_key = api_key_rotate(api_key=queryset.get())
        except ApplicationError as error:
            self.message_user(request, error.message, messages.ERROR)
            return
        except ValidationError as error:  # the old secret's record would clash with a key
            self.message_user(
                request, f"Nothing was changed: {' '.join(error.messages)}", messages.ERROR
            )
            return
        messages.warning(
            request,
            f"The new key for {api_key.name} is {raw_key} — copy it now: it is not stored and "
            "will not be shown again. The old key no longer works.",
        )
