"""What the catalog's admin pages share: the stock badge, the edit permission, and the mixin
that turns service errors into messages."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils.html import format_html
from django.utils.safestring import SafeString

from catalog.models import Product, Variant
from core.exceptions import ApplicationError


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


def may_edit(request: HttpRequest, model: type[Product | Variant]) -> bool:
    return request.user.has_perm(f"catalog.change_{model._meta.model_name}")


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


def changed_values(form: forms.ModelForm, fields: tuple[str, ...]) -> dict[str, Any]:  # type: ignore[type-arg]
    return {field: form.cleaned_data[field] for field in form.changed_data if field in fields}
