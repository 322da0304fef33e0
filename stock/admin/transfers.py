"""Transfers in the admin: their list, a draft made on the add page (pre-filled from the query
string, as the replenishment page links to it), and the transfer's page with what each state
allows: ship a draft, receive what arrived (typed in or scanned), close it short, cancel it;
and its packing list, to print. Every change goes through ``stock.transfers``, as the API's
do; a refusal comes back as a message and changes nothing."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Prefetch, QuerySet, Sum
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.timezone import localtime

from catalog.validators import MAX_QUANTITY, normalize_code
from core.actors import user_actor
from core.exceptions import ApplicationError
from stock import selectors
from stock.exceptions import InsufficientStock, InvalidTransferLines
from stock.models import (
    NOTE_MAX_LENGTH,
    REFERENCE_MAX_LENGTH,
    Location,
    StockMovement,
    Transfer,
    TransferLine,
    TransferStatus,
)
from stock.transfers import (
    MAX_LINES,
    ReceiptLine,
    TransferLineRequest,
    transfer_cancel,
    transfer_close,
    transfer_create,
    transfer_receive,
    transfer_ship,
)

# Empty rows the add page offers below the lines it was given.
BLANK_LINES = 5
# The transfer's movements its page shows (two per line shipped, one per receipt...).
MOVEMENTS_SHOWN = 200


def _error_text(error: ApplicationError | ValidationError) -> str:
    if isinstance(error, InsufficientStock) and isinstance(error.details, dict):
        short = ", ".join(
            f"{line['sku']} ({line['requested']} asked, {line['available']} available)"
            for line in error.details.get("lines", [])
        )
        return f"{error.message} Short: {short}." if short else error.message
    if isinstance(error, ApplicationError):
        return error.message
    return " ".join(error.messages)


def active_location_choices() -> QuerySet[Location]:
    return Location.objects.filter(is_active=True).order_by("-is_default", "code")


class LocationCodeField(forms.ModelChoiceField):  # type: ignore[type-arg]
    """An active location, chosen (and given in the query string) by its code."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(queryset=active_location_choices(), to_field_name="code", **kwargs)

    def label_from_instance(self, obj: Location) -> str:
        return f"{obj.code}: {obj.name}"


class TransferForm(forms.Form):
    from_location = LocationCodeField(label="From")
    to_location = LocationCodeField(label="To")
    reference = forms.CharField(
        required=False,
        max_length=REFERENCE_MAX_LENGTH,
        help_text="Your own reference, e.g. a customer's request.",
    )
    note = forms.CharField(required=False, max_length=NOTE_MAX_LENGTH)


class TransferLineForm(forms.Form):
    sku = forms.CharField(required=False, max_length=64, label="SKU")
    quantity = forms.IntegerField(required=False, min_value=1, max_value=MAX_QUANTITY)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        sku, quantity = data.get("sku", "").strip(), data.get("quantity")
        if sku and quantity is None and "quantity" not in self.errors:
            self.add_error("quantity", "How many units?")
        if quantity is not None and not sku:
            self.add_error("sku", "Which variant? Type or scan its SKU.")
        return data


class BaseTransferLineFormSet(forms.BaseFormSet):  # type: ignore[type-arg]
    def filled(self) -> list[tuple[forms.Form, TransferLineRequest]]:
        """The rows that name a variant, each with its line for the service."""
        return [
            (form, TransferLineRequest(sku=form.cleaned_data["sku"], quantity=quantity))
            for form in self.forms
            if (quantity := form.cleaned_data.get("quantity")) is not None
        ]

    def clean(self) -> None:
        if any(self.errors):
            return
        if not self.filled():
            raise ValidationError("A transfer needs at least one line: a SKU and a quantity.")


def line_formset(blank: int) -> type[BaseTransferLineFormSet]:
    return forms.formset_factory(  # type: ignore[return-value]
        TransferLineForm,
        formset=BaseTransferLineFormSet,
        extra=blank,
        max_num=MAX_LINES,
        validate_max=True,
    )


def initial_from_query(query: QueryDict) -> tuple[dict[str, str], list[dict[str, Any]]]:
    """The add page's fields from its address: ``?from=MAIN&to=STORE-01&lines=SKU1:3,SKU2:1``
    (what the replenishment page links to). A part that does not parse is left for staff to
    fill in; the form checks everything again when posted."""

    def param(name: str) -> str:
        value = query.get(name, "")
        return value.strip() if isinstance(value, str) else ""

    transfer = {
        field: normalize_code(param(name))
        for name, field in (("from", "from_location"), ("to", "to_location"))
        if param(name)
    }
    transfer.update({name: param(name) for name in ("reference", "note") if param(name)})
    lines = []
    for part in param("lines").split(",")[:MAX_LINES]:
        sku, _, quantity = part.partition(":")
        if sku.strip():
            line: dict[str, Any] = {"sku": normalize_code(sku)}
            if quantity.strip().isdigit():
                line["quantity"] = int(quantity)
            lines.append(line)
    return transfer, lines


def posted_as_initial(posted: QueryDict) -> tuple[dict[str, str], list[dict[str, Any]]]:
    """The add page's fields as they were posted, unchecked, and its rows that are not empty."""
    transfer = {name: posted.get(f"transfer-{name}", "") for name in TransferForm.base_fields}
    try:
        rows = min(int(posted.get("lines-TOTAL_FORMS", "0")), MAX_LINES)
    except ValueError:
        rows = 0
    lines = []
    for index in range(rows):
        line = {
            field: value.strip()
            for field in ("sku", "quantity")
            if (value := posted.get(f"lines-{index}-{field}", ""))
        }
        if any(line.values()):
            lines.append(line)
    return transfer, lines


def transfer_add_url(
    *, from_code: str, to_code: str, lines: Sequence[tuple[str, int]], **fields: str
) -> str:
    """The add page, pre-filled: for pages that suggest a transfer (replenishment)."""
    query = {
        "from": from_code,
        "to": to_code,
        "lines": ",".join(f"{sku}:{quantity}" for sku, quantity in lines),
        **fields,
    }
    return f"{reverse('admin:stock_transfer_add')}?{urlencode(query)}"


class ReceiveForm(forms.Form):
    """A quantity per line still in transit, pre-filled with all of it; and the scan field: a
    SKU or barcode scanned there adds one to its line (in the browser; without JavaScript the
    page does it when the scan is posted)."""

    scan = forms.CharField(
        required=False,
        label="Scan",
        help_text="Scan or type a SKU or barcode and press Enter: one more unit of its line.",
    )

    # The units received when the form was shown: a second submit of it is refused by the
    # service, not booked twice.
    received_before = forms.IntegerField(required=False, min_value=0, widget=forms.HiddenInput)

    def __init__(self, *args: Any, lines: Sequence[TransferLine], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["received_before"].initial = sum(line.quantity_received for line in lines)
        self.lines = [line for line in lines if line.in_transit]
        for line in self.lines:
            self.fields[self.field_name(line)] = forms.IntegerField(
                min_value=0,
                max_value=line.in_transit,
                initial=line.in_transit,
                label=f"Units of {line.variant.sku} received",
            )

    @staticmethod
    def field_name(line: TransferLine) -> str:
        return f"line_{line.pk}"

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not self.errors and not any(data.get(self.field_name(line)) for line in self.lines):
            raise ValidationError("Enter the units of at least one line that arrived.")
        return data

    def receipt(self) -> list[ReceiptLine]:
        return [
            ReceiptLine(line_id=line.pk, quantity=quantity)
            for line in self.lines
            if (quantity := self.cleaned_data.get(self.field_name(line)))
        ]

    def line_for(self, code: str) -> TransferLine | None:
        code = code.strip()
        for line in self.lines:
            if normalize_code(code) == line.variant.sku or (
                line.variant.barcode and code == line.variant.barcode
            ):
                return line
        return None


@dataclass(frozen=True)
class Totals:
    quantity: int
    received: int
    lost: int
    in_transit: int


def _totals(lines: Sequence[TransferLine]) -> Totals:
    return Totals(
        quantity=sum(line.quantity for line in lines),
        received=sum(line.quantity_received for line in lines),
        lost=sum(line.quantity_lost for line in lines),
        in_transit=sum(line.in_transit for line in lines),
    )


def _movements(transfer: Transfer, lines: Sequence[TransferLine]) -> list[StockMovement]:
    """The ledger's movements of the transfer, oldest first: found through its variants (an
    index) and its number (each movement's reference)."""
    if transfer.shipped_at is None:
        return []
    movements = selectors.stock_movement_list().filter(
        variant__in=[line.variant_id for line in lines],
        reference=transfer.number,
        created_at__gte=transfer.created_at,
    )
    return list(reversed(movements[:MOVEMENTS_SHOWN]))


def _when(moment: datetime | None) -> SafeString:
    """A moment of the list, short (the year in its title): eight columns fit a laptop."""
    if moment is None:
        return mark_safe("-")
    moment = localtime(moment)
    return format_html(
        '<span title="{}">{}</span>',
        date_format(moment, "Y-m-d H:i"),
        date_format(moment, "j M H:i"),
    )


def _lines_prefetch() -> Prefetch:  # type: ignore[type-arg]
    return Prefetch(
        "lines",
        queryset=TransferLine.objects.select_related("variant__product").order_by("id"),
    )


@admin.register(Transfer)
class TransferAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Transfers, made and moved through the transfer services only. Seeing them takes the view
    permission; drafting one the add permission; shipping, receiving, closing and cancelling
    the change permission (both staff groups hold all three). Never edited nor deleted: a
    mistake is cancelled, or closed short."""

    list_display = [
        "number",
        "status_badge",
        "from_code",
        "to_code",
        "lines_and_units",
        "created",
        "shipped",
        "received",
    ]
    list_display_links = ["number"]
    list_filter = ["status", "from_location", "to_location"]
    search_fields = ["number", "=lines__variant__sku"]
    list_per_page = 50
    ordering = ["-id"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Transfer]:
        return Transfer.objects.select_related("from_location", "to_location").annotate(
            line_count=Count("lines"), unit_count=Sum("lines__quantity")
        )

    class Media:
        css = {"all": ("stock/transfers.css",)}

    @admin.display(description="Status", ordering="status")
    def status_badge(self, transfer: Transfer) -> SafeString:
        return format_html(
            '<span class="transfer-status status-{}">{}</span>',
            transfer.status,
            transfer.get_status_display(),
        )

    @admin.display(description="Created", ordering="created_at")
    def created(self, transfer: Transfer) -> SafeString:
        return _when(transfer.created_at)

    @admin.display(description="Shipped", ordering="shipped_at")
    def shipped(self, transfer: Transfer) -> SafeString:
        return _when(transfer.shipped_at)

    @admin.display(description="Received", ordering="received_at")
    def received(self, transfer: Transfer) -> SafeString:
        return _when(transfer.received_at)

    @admin.display(description="From", ordering="from_location__code")
    def from_code(self, transfer: Transfer) -> str:
        return str(transfer.from_location.code)

    @admin.display(description="To", ordering="to_location__code")
    def to_code(self, transfer: Transfer) -> str:
        return str(transfer.to_location.code)

    @admin.display(description="Lines / units")
    def lines_and_units(self, transfer: Transfer) -> str:
        return f"{transfer.line_count} / {transfer.unit_count or 0}"  # type: ignore[attr-defined]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view
        return [
            path("<int:transfer_id>/ship/", view(self.ship_view), name="stock_transfer_ship"),
            path(
                "<int:transfer_id>/receive/",
                view(self.receive_view),
                name="stock_transfer_receive",
            ),
            path("<int:transfer_id>/close/", view(self.close_view), name="stock_transfer_close"),
            path("<int:transfer_id>/cancel/", view(self.cancel_view), name="stock_transfer_cancel"),
            path(
                "<int:transfer_id>/packing-list/",
                view(self.packing_list_view),
                name="stock_transfer_packing_list",
            ),
            *super().get_urls(),
        ]

    # The pages.

    def add_view(
        self, request: HttpRequest, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        """A draft through ``transfer_create``: where from and to, and its lines by SKU."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        initial, lines = initial_from_query(request.GET)
        posted: QueryDict | None = request.POST if request.method == "POST" else None
        if posted is not None and "_more" in posted:
            # "More lines": the page again as it was typed in, with more empty rows.
            initial, lines = posted_as_initial(posted)
            posted = None
        form = TransferForm(posted, initial=initial, prefix="transfer")
        formset = line_formset(BLANK_LINES)(posted, initial=lines, prefix="lines")
        if posted is not None and all([form.is_valid(), formset.is_valid()]):
            transfer = self._create(request, form, formset)
            if transfer is not None:
                self.log_addition(request, transfer, [{"added": {}}])
                units = sum(line.quantity for _, line in formset.filled())
                self.message_user(
                    request,
                    f"Draft {transfer.number} made: {len(formset.filled())} line(s), {units} "
                    f"unit(s) from {transfer.from_location.code} to "
                    f"{transfer.to_location.code}. Nothing moves until it ships.",
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(self._url(transfer))
        context = {
            **self.admin_site.each_context(request),
            "title": "New transfer",
            "opts": self.opts,
            "form": form,
            "formset": formset,
            "media": self.media,
        }
        return TemplateResponse(request, "admin/stock/transfer/add_form.html", context)

    def _create(
        self, request: HttpRequest, form: TransferForm, formset: BaseTransferLineFormSet
    ) -> Transfer | None:
        filled = formset.filled()
        data = form.cleaned_data
        try:
            return transfer_create(
                from_location=data["from_location"],
                to_location=data["to_location"],
                lines=[line for _, line in filled],
                actor=user_actor(request.user),
                note=data["note"],
                reference=data["reference"],
            )
        except InvalidTransferLines as error:
            for (line_form, _), errors in zip(filled, error.details["lines"], strict=True):
                for field, field_errors in errors.items():
                    line_form.add_error("sku" if field == "variant" else field, field_errors)
        except ValidationError as error:
            for field, field_errors in error.message_dict.items():
                form.add_error(field if field in form.fields else None, field_errors)
        except ApplicationError as error:
            form.add_error(None, error.message)
        return None

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        """The transfer, read-only, its lines with what arrived, and the buttons its state and
        the user's permissions allow."""
        transfer = self._transfer(request, object_id)
        if not self.has_view_permission(request, transfer):
            raise PermissionDenied
        lines = list(transfer.lines.all())
        may_change = self.has_change_permission(request, transfer)
        nothing_arrived = not any(line.quantity_received or line.quantity_lost for line in lines)
        in_transit = transfer.status == TransferStatus.IN_TRANSIT
        context = {
            **self._context(request, transfer, lines),
            "title": f"Transfer {transfer.number}",
            "movements": _movements(transfer, lines),
            "ledger_url": reverse("admin:stock_stockmovement_changelist")
            + "?"
            + urlencode({"q": transfer.number}),
            "can_ship": may_change and transfer.status == TransferStatus.DRAFT,
            "can_receive": may_change and in_transit,
            "can_close": may_change and in_transit,
            "can_cancel": may_change
            and (transfer.status == TransferStatus.DRAFT or (in_transit and nothing_arrived)),
        }
        return TemplateResponse(request, "admin/stock/transfer/detail.html", context)

    def ship_view(self, request: HttpRequest, transfer_id: int) -> HttpResponse:
        """Ship a draft (the detail page's button posts here): all its lines leave the source."""
        transfer = self._for_change(request, transfer_id)
        if request.method == "POST":
            self._act(
                request,
                lambda: transfer_ship(transfer_id=transfer.pk, actor=user_actor(request.user)),
                done=lambda shipped: (
                    f"{shipped.number} shipped: its units left "
                    f"{shipped.from_location.code} and are in transit to {shipped.to_location.code}."
                ),
            )
        return HttpResponseRedirect(self._url(transfer))

    def receive_view(self, request: HttpRequest, transfer_id: int) -> HttpResponse:
        transfer = self._for_change(request, transfer_id)
        if transfer.status != TransferStatus.IN_TRANSIT:
            self.message_user(
                request,
                f"{transfer.number} is {transfer.get_status_display().lower()}: nothing to "
                "receive.",
                messages.ERROR,
            )
            return HttpResponseRedirect(self._url(transfer))
        lines = list(transfer.lines.all())
        posted: QueryDict | None = request.POST if request.method == "POST" else None
        if posted is not None and posted.get("scan", "").strip():
            # A scan posted without JavaScript: one more unit of its line, nothing received.
            posted = self._scanned(request, posted, lines)
            form = ReceiveForm(posted, lines=lines)
            form.is_valid()  # shows the quantities as they stand, errors included
        else:
            form = ReceiveForm(posted, lines=lines)
            if posted is not None and form.is_valid():
                receipt = form.receipt()
                try:
                    received = transfer_receive(
                        transfer_id=transfer.pk,
                        lines=receipt,
                        actor=user_actor(request.user),
                        expected_received=form.cleaned_data.get("received_before"),
                    )
                except InvalidTransferLines as error:
                    for line, errors in zip(receipt, error.details["lines"], strict=True):
                        for messages_ in errors.values():
                            form.add_error(f"line_{line.line_id}", messages_)
                except (ApplicationError, ValidationError) as error:
                    self.message_user(
                        request, f"Nothing was received: {_error_text(error)}", messages.ERROR
                    )
                    return HttpResponseRedirect(self._url(transfer))
                else:
                    units = sum(line.quantity for line in receipt)
                    self.log_change(request, received, f"Received {units} unit(s).")
                    rest = (
                        f"every unit has arrived: {received.number} is received."
                        if received.status == TransferStatus.RECEIVED
                        else "the rest is still in transit."
                    )
                    self.message_user(
                        request,
                        f"Received {units} unit(s) of {received.number} at "
                        f"{received.to_location.code}; {rest}",
                        messages.SUCCESS,
                    )
                    return HttpResponseRedirect(self._url(transfer))
        context = {
            **self._context(request, transfer, lines),
            "title": f"Receive transfer {transfer.number}",
            "form": form,
            "rows": [(line, form[ReceiveForm.field_name(line)]) for line in form.lines],
        }
        return TemplateResponse(request, "admin/stock/transfer/receive_form.html", context)

    def _scanned(
        self, request: HttpRequest, posted: QueryDict, lines: Sequence[TransferLine]
    ) -> QueryDict:
        data = posted.copy()
        code = data.pop("scan")[-1].strip()
        line = ReceiveForm(lines=lines).line_for(code)
        if line is None:
            self.message_user(request, f"{code} is not in this transfer.", messages.WARNING)
            return data
        name = ReceiveForm.field_name(line)
        try:
            units = int(data.get(name) or 0)
        except ValueError:
            units = 0
        if units >= line.in_transit:
            self.message_user(
                request,
                f"All {line.in_transit} unit(s) of {line.variant.sku} in transit are counted "
                "already.",
                messages.WARNING,
            )
        else:
            data[name] = str(units + 1)
        return data

    def close_view(self, request: HttpRequest, transfer_id: int) -> HttpResponse:
        """Close a transfer short after a page that shows what will be written off."""
        transfer = self._for_change(request, transfer_id)
        if request.method == "POST" and request.POST.get("post") == "yes":
            self._act(
                request,
                lambda: transfer_close(transfer_id=transfer.pk, actor=user_actor(request.user)),
                done=lambda closed: (
                    f"{closed.number} closed: "
                    f"{sum(line.quantity_lost for line in closed.lines.all())} unit(s) written off "
                    "as lost in transit."
                ),
            )
            return HttpResponseRedirect(self._url(transfer))
        return self._confirmation(request, transfer, "close")

    def cancel_view(self, request: HttpRequest, transfer_id: int) -> HttpResponse:
        """Cancel a draft, or a transfer in transit of which nothing arrived, after a page that
        shows what goes back on the shelf."""
        transfer = self._for_change(request, transfer_id)
        if request.method == "POST" and request.POST.get("post") == "yes":
            self._act(
                request,
                lambda: transfer_cancel(transfer_id=transfer.pk, actor=user_actor(request.user)),
                done=lambda cancelled: (
                    f"{cancelled.number} cancelled."
                    + (
                        f" Its units are back on the shelf at {cancelled.from_location.code}."
                        if cancelled.shipped_at
                        else ""
                    )
                ),
            )
            return HttpResponseRedirect(self._url(transfer))
        return self._confirmation(request, transfer, "cancel")

    def packing_list_view(self, request: HttpRequest, transfer_id: int) -> HttpResponse:
        transfer = self._transfer(request, transfer_id)
        if not self.has_view_permission(request, transfer):
            raise PermissionDenied
        lines = list(transfer.lines.all())
        context = {
            **self._context(request, transfer, lines),
            "title": f"Packing list {transfer.number}",
        }
        return TemplateResponse(request, "admin/stock/transfer/packing_list.html", context)

    # What the pages share.

    def _transfer(self, request: HttpRequest, transfer_id: int | str) -> Transfer:
        transfers = (
            Transfer.objects.select_related("from_location", "to_location")
            .prefetch_related(_lines_prefetch())
            .filter(pk=transfer_id)
            if str(transfer_id).isdigit()
            else Transfer.objects.none()
        )
        return get_object_or_404(transfers)

    def _for_change(self, request: HttpRequest, transfer_id: int) -> Transfer:
        transfer = self._transfer(request, transfer_id)
        if not self.has_change_permission(request, transfer):
            raise PermissionDenied
        return transfer

    def _url(self, transfer: Transfer) -> str:
        return reverse("admin:stock_transfer_change", args=[transfer.pk])

    def _context(
        self, request: HttpRequest, transfer: Transfer, lines: Sequence[TransferLine]
    ) -> dict[str, Any]:
        return {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "transfer": transfer,
            "lines": lines,
            "totals": _totals(lines),
            "shipped": transfer.shipped_at is not None,
            "transfer_url": self._url(transfer),
        }

    def _confirmation(self, request: HttpRequest, transfer: Transfer, action: str) -> HttpResponse:
        lines = list(transfer.lines.all())
        allowed = transfer.status == TransferStatus.IN_TRANSIT or (
            action == "cancel" and transfer.status == TransferStatus.DRAFT
        )
        if action == "cancel" and any(
            line.quantity_received or line.quantity_lost for line in lines
        ):
            allowed = False
        context = {
            **self._context(request, transfer, lines),
            "title": f"{action.title()} transfer {transfer.number}",
            "action": action,
            "allowed": allowed,
            "missing": [line for line in lines if line.in_transit],
        }
        return TemplateResponse(request, "admin/stock/transfer/confirmation.html", context)

    def _act(self, request: HttpRequest, act: Any, *, done: Any) -> None:
        try:
            transfer = act()
        except (ApplicationError, ValidationError) as error:
            self.message_user(request, f"Nothing was changed: {_error_text(error)}", messages.ERROR)
        else:
            message = done(transfer)
            self.log_change(request, transfer, message)
            self.message_user(request, message, messages.SUCCESS)
