"""Count sessions in the admin, for staff counting a shop while it sells: start one at a location
(optionally one product, optionally zeroing the rest), count by scanning into one field (each
Enter adds one) or by typing a line's quantity, preview every correction with its value, then
apply it or cancel. Every step goes through ``stock.counts``, as the API's does."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.views.decorators.http import require_POST

from catalog.models import Product
from catalog.validators import MAX_QUANTITY
from core.actors import user_actor
from core.exceptions import ApplicationError
from stock import count_selectors, counts
from stock.admin.common import STOCK_PERMISSION
from stock.admin.forms import LocationChoiceField, active_locations
from stock.models import NOTE_MAX_LENGTH, CountSession, CountStatus

# A scanner types digits (a barcode); staff typing by hand give the SKU.
BARCODE_DIGITS = range(8, 15)


class CountStartForm(forms.Form):
    location = LocationChoiceField(label="Count at")
    product = forms.ModelChoiceField(
        queryset=Product.objects.filter(is_active=True).order_by("name", "color", "collection"),
        required=False,
        empty_label="Every variant there",
        help_text="Count only this product's sizes.",
    )
    zero_uncounted = forms.BooleanField(
        label="Zero the rest",
        required=False,
        help_text="Applying sets every variant of the session that was not counted to 0 on "
        "hand. Leave unticked to leave those alone.",
    )
    note = forms.CharField(max_length=NOTE_MAX_LENGTH, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["location"].set_locations(active_locations())  # type: ignore[attr-defined]


class ScanForm(forms.Form):
    code = forms.CharField(
        label="Scan or type a barcode or SKU",
        max_length=64,
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "off"}),
    )

    def entry(self) -> dict[str, str]:
        code = self.cleaned_data["code"].strip()
        if code.isdigit() and len(code) in BARCODE_DIGITS:
            return {"barcode": code}
        return {"sku": code}


class CountedForm(forms.Form):
    variant = forms.IntegerField(widget=forms.HiddenInput)
    counted = forms.IntegerField(min_value=0, max_value=MAX_QUANTITY)


@admin.register(CountSession)
class CountSessionAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """The sessions, newest first; each opens on its counting page (or, once over, its
    corrections). Never deleted: an applied session is what its movements reference."""

    list_display = [
        "reference",
        "location",
        "product",
        "status",
        "zero_uncounted",
        "progress",
        "actor",
        "created_at",
    ]
    list_filter = ["status", "location"]
    list_select_related = ["location", "product"]
    ordering = ["-id"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[CountSession]:
        return count_selectors.count_list()

    @admin.display(description="Counted")
    def progress(self, session: CountSession) -> str:
        return f"{session.counted_count} of {session.line_count}"  # type: ignore[attr-defined]

    @admin.display(description="Count", ordering="id")
    def reference(self, session: CountSession) -> str:
        return session.reference

    # Counting is stock work: the stock permission, whatever the model's own say.

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm(STOCK_PERMISSION) or super().has_view_permission(request, obj)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(STOCK_PERMISSION)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm(STOCK_PERMISSION)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view
        return [
            path(
                "<int:session_id>/preview/",
                view(self.preview_view),
                name="stock_countsession_preview",
            ),
            path(
                "<int:session_id>/apply/",
                view(require_POST(self.apply_view)),
                name="stock_countsession_apply",
            ),
            path(
                "<int:session_id>/cancel/",
                view(require_POST(self.cancel_view)),
                name="stock_countsession_cancel",
            ),
            *super().get_urls(),
        ]

    # Start

    def add_view(
        self, request: HttpRequest, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = CountStartForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            try:
                session = counts.count_start(**form.cleaned_data, actor=user_actor(request.user))
            except (ApplicationError, ValidationError) as error:
                self.message_user(request, f"Nothing was started: {_text(error)}", messages.ERROR)
            else:
                self.message_user(
                    request,
                    f"{session.reference} started at {session.location.code}: count away.",
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(_url("change", session.pk))
        context = {
            **self.admin_site.each_context(request),
            "title": "Start a count",
            "opts": self.opts,
            "form": form,
        }
        return TemplateResponse(request, "admin/stock/countsession/start.html", context)

    # Count

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        session = self._session(object_id)
        scan = ScanForm()
        if request.method == "POST":
            if not self.has_change_permission(request):
                raise PermissionDenied
            entered = self._enter(request, session)
            if entered is None:
                return HttpResponseRedirect(request.get_full_path())
            scan = entered
        result = (
            counts.count_preview(session=session) if session.status != CountStatus.OPEN else None
        )
        context = {
            **self.admin_site.each_context(request),
            "title": f"{session.reference} at {session.location}",
            "opts": self.opts,
            "session": session,
            "lines": session.lines.all(),
            "scan": scan,
            "result": result,
            "is_open": session.status == CountStatus.OPEN,
        }
        return TemplateResponse(request, "admin/stock/countsession/count.html", context)

    def _enter(self, request: HttpRequest, session: CountSession) -> ScanForm | None:
        """Enter a scan or a line's count; ``None`` once it is entered (or refused with a
        message), the scan form with its errors otherwise."""
        if "counted" in request.POST:
            form: forms.Form = CountedForm(request.POST)
            scan = ScanForm()
        else:
            form = scan = ScanForm(request.POST)
        if not form.is_valid():
            if form is scan:
                return scan
            self.message_user(request, "Enter a count from 0 up.", messages.ERROR)
            return None
        entry = (
            {"variant_id": form.cleaned_data["variant"], "counted": form.cleaned_data["counted"]}
            if isinstance(form, CountedForm)
            else scan.entry()
        )
        try:
            line = counts.count_enter(
                session_id=session.pk, actor=user_actor(request.user), **entry
            )
        except (ApplicationError, ValidationError) as error:
            self.message_user(request, f"Not counted: {_text(error)}", messages.ERROR)
        else:
            self.message_user(
                request, f"{line.variant.sku}: {line.counted} counted.", messages.SUCCESS
            )
        return None

    # Preview, apply, cancel

    def preview_view(self, request: HttpRequest, session_id: int) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        session = self._session(session_id)
        result = counts.count_preview(session=session)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Preview of {session.reference} at {session.location}",
            "opts": self.opts,
            "session": session,
            "result": result,
            "refused": any(correction.refused for correction in result.corrections),
            "uncounted": sum(1 for line in session.lines.all() if line.counted is None),
        }
        return TemplateResponse(request, "admin/stock/countsession/preview.html", context)

    def apply_view(self, request: HttpRequest, session_id: int) -> HttpResponse:
        if not self.has_change_permission(request):
            raise PermissionDenied
        try:
            result = counts.count_apply(session_id=session_id, actor=user_actor(request.user))
        except CountSession.DoesNotExist:
            raise Http404("No such count session.") from None
        except (ApplicationError, ValidationError) as error:
            self.message_user(request, f"Nothing was applied: {_text(error)}", messages.ERROR)
            return HttpResponseRedirect(_url("preview", session_id))
        self.message_user(
            request,
            f"{result.session.reference} applied: {len(result.corrections)} correction(s), "
            f"{result.units:+d} units, {result.value:+.2f} in value.",
            messages.SUCCESS,
        )
        return HttpResponseRedirect(_url("change", session_id))

    def cancel_view(self, request: HttpRequest, session_id: int) -> HttpResponse:
        if not self.has_change_permission(request):
            raise PermissionDenied
        try:
            session = counts.count_cancel(session_id=session_id, actor=user_actor(request.user))
        except CountSession.DoesNotExist:
            raise Http404("No such count session.") from None
        except (ApplicationError, ValidationError) as error:
            self.message_user(request, f"Not cancelled: {_text(error)}", messages.ERROR)
        else:
            self.message_user(
                request, f"{session.reference} cancelled; nothing moved.", messages.SUCCESS
            )
        return HttpResponseRedirect(_url("change", session_id))

    def _session(self, session_id: int | str) -> CountSession:
        if not str(session_id).isdigit():
            raise Http404("No such count session.")
        return get_object_or_404(count_selectors.count_with_lines(), pk=int(session_id))


def _url(view: str, session_id: int) -> str:
    return reverse(f"admin:stock_countsession_{view}", args=[session_id])


def _text(error: ApplicationError | ValidationError) -> str:
    if isinstance(error, ApplicationError):
        return error.message
    return " ".join(error.messages)
