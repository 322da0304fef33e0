"""Writes of locations: create one, change one, move the default, archive one.

The rules, the same from every door (the admin, the API):

- exactly one location is the default: making one the default takes it from the other in the
  same transaction; the default cannot be unset (only moved) nor archived;
- a location holding stock (units on hand or committed to open orders) cannot be archived: it
  has to be counted out, or its orders cancelled, first;
- a location's code never changes: files, orders and clients name it.

Locations are a handful of rows, so each write locks them all, in primary-key order: two
concurrent moves of the default then run one after the other, each seeing the other's result,
and never deadlock.
"""

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, Sum

from stock.models import Location, StockLevel

LOCATION_FIELDS = ("code", "name", "kind", "is_active", "is_default")
# What ``location_update`` may change.
LOCATION_UPDATABLE_FIELDS = ("name", "kind", "is_active", "is_default")


def location_change_errors(
    location: Location | None, *, is_active: bool, is_default: bool
) -> dict[str, str]:
    """What is wrong with giving ``location`` (``None``: a new one) these flags, field by field.
    The services check it under their locks; the admin's form asks first, to show the errors
    on its fields."""
    if is_default and not is_active:
        return {"is_active": "The default location takes stock: it cannot be archived."}
    if location is None or location.pk is None:
        return {}
    if location.is_default and not is_default:
        return {
            "is_default": f"{location.code} is the default location: make another location "
            "the default instead."
        }
    if location.is_active and not is_active:
        held = StockLevel.objects.filter(
            Q(on_hand__gt=0) | Q(committed__gt=0), location=location
        ).aggregate(on_hand=Sum("on_hand"), committed=Sum("committed"))
        if held["on_hand"]:
            return {
                "is_active": f"{location.code} still holds {held['on_hand']} unit(s) on hand, "
                f"{held['committed'] or 0} of them committed to open orders: move or count them "
                "out (and fulfil or cancel those orders) before archiving it."
            }
    return {}


def _lock_locations() -> dict[int, Location]:
    return {
        location.pk: location for location in Location.objects.select_for_update().order_by("pk")
    }


def _clean(location: Location) -> None:
    """The model's own checks (code format and uniqueness, a name, a kind). Those on the
    default are left to ``location_change_errors``: the one-default constraint would refuse a
    new default before the old one is unset, which happens next, in the same transaction."""
    location.full_clean(exclude=["is_default"])


def _take_default(locations: dict[int, Location], *, keep: int | None) -> None:
    others = [pk for pk, location in locations.items() if location.is_default and pk != keep]
    Location.objects.filter(pk__in=others).update(is_default=False)


@transaction.atomic
def location_create(
    *, code: str, name: str, kind: str, is_active: bool = True, is_default: bool = False
) -> Location:
    """A new location; made the default, it takes that from the current one."""
    locations = _lock_locations()
    location = Location(code=code, name=name, kind=kind, is_active=is_active, is_default=False)
    errors = location_change_errors(None, is_active=is_active, is_default=is_default)
    if errors:
        raise ValidationError(errors)
    _clean(location)
    if is_default:
        _take_default(locations, keep=None)
        location.is_default = True
    location.save()
    return location


@transaction.atomic
def location_update(*, location_id: int, **fields: Any) -> Location:
    """Change a location's ``LOCATION_UPDATABLE_FIELDS``. Making it the default takes that from
    the current one; archiving it is refused while it holds stock, and for the default."""
    unknown = sorted(set(fields) - set(LOCATION_UPDATABLE_FIELDS))
    if unknown:
        raise ValidationError(
            {
                name: "A location's code never changes." if name == "code" else "Not a field."
                for name in unknown
            }
        )
    locations = _lock_locations()
    location = locations.get(location_id)
    if location is None:
        raise Location.DoesNotExist(f"No location with id {location_id}.")
    errors = location_change_errors(
        location,
        is_active=fields.get("is_active", location.is_active),
        is_default=fields.get("is_default", location.is_default),
    )
    if errors:
        raise ValidationError(errors)
    becomes_default = fields.get("is_default") is True and not location.is_default
    for name, value in fields.items():
        setattr(location, name, value)
    _clean(location)
    if becomes_default:
        _take_default(locations, keep=location.pk)
    location.save(update_fields=[*fields, "updated_at"])
    return location
