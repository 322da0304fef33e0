"""The admin's "Import CSV" and "Export CSV" pages of the product list (``stock.imports``,
``stock.exports``): upload, then a preview of what every row will do and every error, then one
"Apply import" that changes everything or nothing. A file whose content was applied before is
shown as such, and applying it again takes a ticked confirmation.

Anyone with the stock permission (store staff and managers) may import stock for SKUs the
catalog has; creating or changing products and variants in an import takes the same permissions
as in the admin's forms (managers). The preview lives in the database (``ImportBatch``), so the
upload and the apply may be served by different instances.
"""

import csv
from collections.abc import Iterator
from itertools import chain
from typing import TYPE_CHECKING, Any, ClassVar

from django import forms
from django.contrib import messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.http.response import HttpResponseBase, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone

from catalog.models import ImportBatch, ImportBatchStatus
from core.actors import user_actor
from stock.admin.common import STOCK_PERMISSION
from stock.exports import export_rows
from stock.imports import (
    COLUMNS,
    MAX_BYTES,
    MAX_ROWS,
    ImportRefused,
    describe,
    import_apply,
    import_batch_create,
    import_batches_applied,
    import_preview,
)

if TYPE_CHECKING:
    from django.template.response import _TemplateForResponseT

ROWS_PER_PAGE = 100
# Every error is listed, a page at a time: a file can have more than a page can hold.
ERRORS_PER_PAGE = 500
# The confirmation that a file applied before is meant to be applied again.
REIMPORT_FIELD = "reimport"
# What an import does, and the permission each needs beyond the stock permission.
CATALOG_PERMISSIONS = {
    "products_created": ("catalog.add_product", "create products"),
    "products_changed": ("catalog.change_product", "change products"),
    "variants_created": ("catalog.add_variant", "create variants"),
    "variants_changed": ("catalog.change_variant", "change variants"),
}


class ImportUploadForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        help_text=f"UTF-8, one row per variant and location, at most {MAX_ROWS:,} rows and "
        f"{MAX_BYTES // (1024 * 1024)} MB.",
    )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_BYTES:
            raise forms.ValidationError(
                f"The file is larger than {MAX_BYTES // (1024 * 1024)} MB; split it into "
                "smaller files."
            )
        return upload


class _Echo:
    """A file-like object whose ``write`` returns the line, for streaming a ``csv.writer``."""

    def write(self, value: str) -> str:
        return value


def missing_permissions(user: Any, summary: dict[str, int]) -> list[str]:
    """What the import does that ``user`` may not do, in words."""
    return [
        what
        for count, (permission, what) in CATALOG_PERMISSIONS.items()
        if summary.get(count) and not user.has_perm(permission)
    ]


class ImportExportAdminMixin:
    """Adds the import and export pages to a ModelAdmin of products."""

    change_list_template: ClassVar["_TemplateForResponseT | None"] = (
        "admin/catalog/product/change_list.html"
    )

    admin_site: Any
    opts: Any
    get_changelist_instance: Any

    def get_urls(self) -> list[URLPattern]:
        urls: list[URLPattern] = super().get_urls()  # type: ignore[misc]
        view = self.admin_site.admin_view
        prefix = f"{self.opts.app_label}_{self.opts.model_name}"
        return [
            path("import/", view(self.import_upload_view), name=f"{prefix}_import"),
            path(
                "import/<int:batch_id>/",
                view(self.import_preview_view),
                name=f"{prefix}_import_preview",
            ),
            path("export/", view(self.export_view), name=f"{prefix}_export"),
            *urls,
        ]

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        context = {
            "can_import": self.has_import_permission(request),
            "can_export": self.has_export_permission(request),
            **(extra_context or {}),
        }
        return super().changelist_view(request, context)  # type: ignore[misc, no-any-return]

    def has_import_permission(self, request: HttpRequest) -> bool:
        return request.user.is_active and request.user.has_perm(STOCK_PERMISSION)

    def has_export_permission(self, request: HttpRequest) -> bool:
        return request.user.is_active and request.user.has_perm("catalog.view_product")

    def _context(self, request: HttpRequest, title: str) -> dict[str, Any]:
        return {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": title,
            "columns": COLUMNS,
            "max_rows": MAX_ROWS,
        }

    def import_upload_view(self, request: HttpRequest) -> HttpResponseBase:
        if not self.has_import_permission(request):
            raise PermissionDenied
        form = ImportUploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            preview = import_preview(data=upload.read())
            batch = import_batch_create(
                preview=preview, filename=upload.name or "", created_by_id=request.user.pk
            )
            return HttpResponseRedirect(
                reverse(
                    f"admin:{self.opts.app_label}_{self.opts.model_name}_import_preview",
                    args=[batch.pk],
                )
            )
        context = {**self._context(request, "Import products and stock from CSV"), "form": form}
        return TemplateResponse(request, "admin/catalog/import_upload.html", context)

    def _batch(self, request: HttpRequest, batch_id: int) -> ImportBatch:
        batches = ImportBatch.objects.all()
        if not request.user.is_superuser:
            batches = batches.filter(created_by=request.user.pk)
        return get_object_or_404(batches, pk=batch_id)

    def import_preview_view(self, request: HttpRequest, batch_id: int) -> HttpResponseBase:
        if not self.has_import_permission(request):
            raise PermissionDenied
        batch = self._batch(request, batch_id)
        missing = missing_permissions(request.user, batch.summary)
        if request.method == "POST":
            return self._apply(request, batch, missing)
        page = Paginator(batch.plan, ROWS_PER_PAGE).get_page(request.GET.get("page"))
        errors = Paginator(batch.errors, ERRORS_PER_PAGE).get_page(request.GET.get("errors"))
        earlier = []
        if batch.status == ImportBatchStatus.PREVIEWED:
            earlier = list(
                import_batches_applied(content_hash=batch.content_hash, excluding=batch.pk)
            )
        context = {
            **self._context(request, f"Import preview: {batch.filename or 'CSV file'}"),
            "batch": batch,
            "summary": batch.summary,
            "errors": errors,
            "page": page,
            "rows": [{**entry, "does": describe(entry)} for entry in page.object_list],
            "missing": missing,
            "can_apply": batch.status == ImportBatchStatus.PREVIEWED and not missing,
            "earlier": earlier,
            "reimport_field": REIMPORT_FIELD,
        }
        return TemplateResponse(request, "admin/catalog/import_preview.html", context)

    def _apply(self, request: HttpRequest, batch: ImportBatch, missing: list[str]) -> HttpResponse:
        here = request.get_full_path()
        if missing:
            messages.error(request, f"You may not {', '.join(missing)}; nothing was changed.")
            return HttpResponseRedirect(here)
        try:
            summary = import_apply(
                batch=batch,
                actor=user_actor(request.user),
                allow_reimport=request.POST.get(REIMPORT_FIELD) == "yes",
            )
        except ImportRefused as error:
            details = (error.details or {}).get("rows", [])
            messages.error(request, " ".join([error.message, *details]))
            return HttpResponseRedirect(here)
        messages.success(
            request,
            f"Import applied: {summary['products_created']} product(s) and "
            f"{summary['variants_created']} variant(s) created, {summary['products_changed']} "
            f"product(s) and {summary['variants_changed']} variant(s) changed, "
            f"{summary['units_received']} unit(s) received on {summary['rows_received']} "
            f"row(s), {summary['rows_counted']} count(s) recorded.",
        )
        return HttpResponseRedirect(
            reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist")
        )

    def export_view(self, request: HttpRequest) -> HttpResponseBase:
        if not self.has_export_permission(request):
            raise PermissionDenied
        if request.method != "GET":
            raise Http404
        # The products the list shows with the filters and search it was opened with (the
        # "Export CSV" link carries them), on every page of it.
        try:
            products = self.get_changelist_instance(request).queryset
        except IncorrectLookupParameters:
            messages.error(request, "The list's filters are not valid; nothing was exported.")
            return HttpResponseRedirect(
                reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist")
            )
        writer = csv.writer(_Echo())
        # A byte-order mark, so that spreadsheet apps open the file as UTF-8.
        rows = export_rows(products=products)
        lines: Iterator[str] = chain(["\ufeff"], (writer.writerow(row) for row in rows))
        response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
        stamp = timezone.localtime().strftime("%Y-%m-%d-%H%M")
        response["Content-Disposition"] = f'attachment; filename="catalog-{stamp}.csv"'
        return response
