"""The variant's admin form with its stock: the catalog's form (``catalog.admin.forms``) plus a
stock change or count at a location (see StockVariantForm), and the select of locations the
"Receive stock" action uses too."""

from collections.abc import Sequence
from typing import Any

from django import forms
from django.http import HttpRequest

from catalog.admin.forms import VariantForm
from catalog.validators import MAX_QUANTITY
from core.actors import Actor
from stock import selectors, services
from stock.admin.common import STOCK_PERMISSION
from stock.models import NOTE_MAX_LENGTH, Location, StockLevel

STOCK_FORM_FIELDS = (
    "stock_location",
    "stock_change",
    "stock_reason",
    "counted_quantity",
    "stock_note",
)


def active_locations() -> tuple[Location, ...]:
    """The locations stock may change at, the default first (one query, once per page)."""
    return tuple(
        sorted(
            selectors.location_list().filter(is_active=True),
            key=lambda location: not location.is_default,
        )
    )


class LocationChoiceField(forms.ChoiceField):
    """A select of the given active locations by code, the default preselected; its value is
    the ``Location`` (``None`` when there is none to choose: the service's default then)."""

    def __init__(self, locations: Sequence[Location] = (), **kwargs: Any) -> None:
        super().__init__(required=False, **kwargs)
        self.set_locations(locations)

    def set_locations(self, locations: Sequence[Location]) -> None:
        self.locations = {location.code: location for location in locations}
        self.choices = [(location.code, str(location)) for location in locations]
        default = next((location for location in locations if location.is_default), None)
        self.initial = default.code if default else None

    def clean(self, value: Any) -> Location | None:
        # None given (a form posted without the select) means the default, as everywhere.
        code = super().clean(value) or self.initial
        return self.locations.get(code) if code else None


class StockVariantForm(VariantForm):
    """A variant; once it exists, its stock changes at a location by a signed change with a
    reason, or by a counted quantity, both recorded as movements by the stock service.
    ``can_change_stock`` (the ``catalog.change_stock`` permission) and ``locations`` (the
    active ones) are set per request by ``stock_form``."""

    can_change_stock = False
    locations: tuple[Location, ...] = ()

    stock_location = LocationChoiceField(
        label="Location", help_text="Where the change or the count happens"
    )

    stock_change = forms.IntegerField(
        required=False,
        min_value=-MAX_QUANTITY,
        max_value=MAX_QUANTITY,
        label="Change",
        help_text="e.g. 12 received, -1 damaged",
    )
    stock_reason = forms.ChoiceField(
        required=False,
        label="Reason",
        choices=[("", "---------"), *services.MANUAL_REASON_CHOICES],
    )
    counted_quantity = forms.IntegerField(
        required=False,
        min_value=0,
        max_value=MAX_QUANTITY,
        label="Counted",
        help_text="Or the quantity counted on the shelf",
    )
    stock_note = forms.CharField(required=False, max_length=NOTE_MAX_LENGTH, label="Note")
    # The units on hand at each location when the page was drawn ({code: units}): a count
    # at a location is refused if a sale or another change came in there meanwhile.
    on_hand_seen = forms.JSONField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk and self.can_change_stock:
            self.fields["stock_location"].set_locations(self.locations)  # type: ignore[attr-defined]
            codes = {location.pk: location.code for location in self.locations}
            self.fields["on_hand_seen"].initial = {
                codes[level.location_id]: level.on_hand
                for level in self._levels().values()
                if level.location_id in codes
            }
        else:
            # A new variant starts with its opening quantity, and users without the stock
            # permission see no stock columns that work (they stay, disabled, so that an
            # inline's columns line up).
            for field in (*STOCK_FORM_FIELDS, "on_hand_seen"):
                self.fields[field].disabled = True

    def _levels(self) -> dict[int, StockLevel]:
        """The variant's levels by location id (prefetched by the admins: no query then)."""
        if not hasattr(self, "_levels_by_location"):
            self._levels_by_location = {
                level.location_id: level for level in self.instance.stock_levels.all()
            }
        return self._levels_by_location

    def _level(self, location: Location | None) -> StockLevel | None:
        if location is None:
            return None
        level = self._levels().get(location.pk) or StockLevel(variant=self.instance)
        level.location = location  # the one chosen: no query for its code
        return level

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not (self.instance.pk and self.can_change_stock):
            return data
        change, count = data.get("stock_change"), data.get("counted_quantity")
        reason, note = data.get("stock_reason") or "", data.get("stock_note") or ""
        level = self._level(data.get("stock_location"))
        if change is not None and count is not None:
            raise forms.ValidationError("Give either a change or a counted quantity, not both.")
        if change is not None:
            self._check_change(change, reason, level)
        elif count is not None:
            self._check_count(count, level)
        elif reason:
            self.add_error("stock_change", "Give the change that goes with the reason.")
        elif note and count is None:
            self.add_error("stock_note", "A note goes with a change or a count.")
        return data

    def _check_change(self, change: int, reason: str, level: StockLevel | None) -> None:
        """What the stock service would refuse, told on the field; it checks again under its
        lock. Without a level (no location to choose) the service alone decides."""
        errors = services.stock_reason_errors(reason=reason, delta=change)
        for field, message in errors.items():
            self.add_error("stock_reason" if field == "reason" else "stock_change", message)
        if errors or level is None:
            return
        if -change > level.available:
            # Units committed to open orders are on the shelf but not this change's to take.
            self.add_error(
                "stock_change",
                f"Only {level.available} available at {level.location.code}; nothing was changed.",
            )
        elif level.on_hand + change > MAX_QUANTITY:
            self.add_error("stock_change", f"A quantity cannot exceed {MAX_QUANTITY}.")

    def _check_count(self, count: int, level: StockLevel | None) -> None:
        if level is not None and count < level.committed:
            self.add_error(
                "counted_quantity",
                f"{level.committed} units at {level.location.code} are committed to open "
                "orders: a count below that needs some of them cancelled first.",
            )

    def apply_stock(self, actor: Actor) -> None:
        """Record the stock change or count given in the form, if any."""
        if not self.can_change_stock:
            return
        data = self.cleaned_data
        location = data.get("stock_location")
        if data.get("stock_change") is not None:
            services.stock_adjust(
                variant_id=self.instance.pk,
                delta=data["stock_change"],
                reason=data["stock_reason"],
                actor=actor,
                location=location,
                note=data.get("stock_note", ""),
            )
        elif data.get("counted_quantity") is not None:
            services.stock_count(
                variant_id=self.instance.pk,
                quantity=data["counted_quantity"],
                expected_quantity=self._on_hand_seen(location),
                actor=actor,
                location=location,
                note=data.get("stock_note", ""),
            )

    def _on_hand_seen(self, location: Location | None) -> int | None:
        """What was on hand at ``location`` when the page was drawn (none there: 0), if the
        page said; a count is compared against it."""
        seen = self.cleaned_data.get("on_hand_seen")
        if location is None or not isinstance(seen, dict):
            return None
        units = seen.get(location.code, 0)
        return units if isinstance(units, int) else None


def stock_form(request: HttpRequest, form: type[StockVariantForm]) -> type[StockVariantForm]:
    """The variant form for this user: stock fields work with the stock permission only, at
    the active locations (read once for every form of the page)."""
    allowed = request.user.has_perm(STOCK_PERMISSION)
    locations = active_locations() if allowed else ()
    return type(form.__name__, (form,), {"can_change_stock": allowed, "locations": locations})
