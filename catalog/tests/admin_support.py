"""What the tests of the catalog's admin pages (test_admin*.py) share: the pages' URLs, and how to
read a response's form errors and messages."""

from typing import Any

from django.contrib import messages
from django.urls import reverse

PRODUCTS = reverse("admin:catalog_product_changelist")
PRODUCT_ADD = reverse("admin:catalog_product_add")
VARIANTS = reverse("admin:catalog_variant_changelist")


def _form_errors(response: Any) -> dict[str, list[str]]:
    """Every error on a re-rendered change form: the product's by field, each inline row's as
    ``variants-<row>-<field>``, and the inline's own as ``variants``."""
    errors = {
        field: list(messages_)
        for field, messages_ in response.context["adminform"].form.errors.items()
    }
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        for index, form in enumerate(formset.forms):
            for field, messages_ in form.errors.items():
                errors[f"{formset.prefix}-{index}-{field}"] = list(messages_)
        if formset.non_form_errors():
            errors[formset.prefix] = list(formset.non_form_errors())
    return errors


def _messages(response: Any) -> list[Any]:
    return list(messages.get_messages(response.wsgi_request))
