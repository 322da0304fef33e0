"""Writes to locations: creating one, renaming it, archiving it, choosing the default.

Two rules hold across rows, so each write locks the rows it reads them from:

- Exactly one location is the default at any time. Making a location the default takes the
  mark from the old default in the same transaction; the current default cannot drop it (there
  would be none) nor be archived (the default takes stock). Whoever moves the default locks
  the current default's row first, then the location it changes: one lock order for every
  write here, and two moves queue instead of both finding the same old default.
- An archived location holds no stock, and no transfer is on its way from or to it. Archiving
  locks the location's row for update, then sums its levels (incoming units included) and
  looks for its open transfers (draft or in transit). Drafting a transfer takes the same
  key-share lock on both of its ends as a change does. Every stock change takes a key-share
  lock on its location's row when it starts and holds it until it commits
  (``stock.services._where``), and reads there whether the location is active. So an archive
  waits for a change under way and then sees its units, and a change that starts during an
  archive waits for it and then finds the location archived.

A code names a location on labels, orders and the ledger: it never changes, and a taken one is
a conflict with the data (409 ``conflict`` naming ``code``), as a taken SKU is in the catalog,
whether the other location was made long ago or a moment before by a concurrent request.
"""

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q, Sum
from django.db.models.functions import Coalesce

from catalog.validators import normalize_code
from catalog.versions import catalog_changed
from core.exceptions import Conflict, Protected
from stock.count_selectors import count_open_at
from stock.exceptions import CountSessionOpen
from stock.models import Location, StockLevel, Transfer, TransferStatus
from stock.selectors import location_default

# What a location's PATCH may change: everything but its code.
LOCATION_UPDATABLE_FIELDS = ("name", "kind", "is_active", "is_default")

CODE_TAKEN = "Another location has this code; codes are unique."
NO_DEFAULT = (
    "There is always one default location: make another location the default, and this one "
    "stops being it."
)
ARCHIVED_DEFAULT = "An archived location cannot be the default."
DEFAULT_ARCHIVED = (
    "The default location cannot be archived: make another location the default first."
)
# How often to look for the default again when it moved while we waited for its lock. Each
# time it moved, another change of the default was made: with n made at once, a request looks
# at most n times, so this many serves ten at once (three did not serve the tests' six).
_DEFAULT_LOCK_ATTEMPTS = 10


@transaction.atomic
def location_create(
    *, code: str, name: str, kind: str, is_active: bool = True, is_default: bool = False
) -> Location:
    """Create a location; with ``is_default``, it becomes the default in place of the old one."""
    if is_default and not is_active:
        raise ValidationError({"is_default": ARCHIVED_DEFAULT})
    location = Location(
        code=normalize_code(code), name=name.strip(), kind=kind, is_active=is_active
    )
    # The claim below decides who gets a code, not a look first (see the module's docstring).
    location.full_clean(validate_unique=False, validate_constraints=False)
    if is_default:
        _take_default(_lock_default())
        location.is_default = True
    try:
        with transaction.atomic():
            location.save()
    except IntegrityError:
        if Location.objects.filter(code=location.code).exists():
            raise Conflict(
                "A value given is already taken; see details for the fields.",
                details={"code": [CODE_TAKEN]},
            ) from None
        raise
    # The catalog's cached reads list a variant's levels at every active location.
    catalog_changed()
    return location


@transaction.atomic
def location_update(*, location: Location, data: Mapping[str, Any]) -> Location:
    """Change the given fields of a location (not its code); only those are written.

    ``is_default=true`` moves the default here; ``is_active=false`` archives it, refused (409
    ``protected``) while it holds stock, on hand or committed to open orders."""
    refused = sorted(set(data).difference(LOCATION_UPDATABLE_FIELDS))
    if refused:
        raise ValidationError(dict.fromkeys(refused, "This field cannot be changed."))
    cleaned = {
        field: value.strip() if field == "name" and isinstance(value, str) else value
        for field, value in data.items()
    }
    # The current row, locked: it may have changed (or gone: 404) since the caller read it;
    # moving the default here, the default's row too, both in key order (as a transfer locks
    # its two ends), so that neither can wait for the other in a cycle.
    if cleaned.get("is_default") is True:
        locked, old_default = _lock_with_default(location)
    else:
        old_default = None
        locked = Location.objects.select_for_update(of=("self",)).get(pk=location.pk)
    changed = [field for field, value in cleaned.items() if getattr(locked, field) != value]
    if not changed:
        return locked
    will_be_active = cleaned.get("is_active", locked.is_active)
    if "is_default" in changed:
        if not cleaned["is_default"]:
            raise ValidationError({"is_default": NO_DEFAULT})
        if not will_be_active:
            raise ValidationError({"is_default": ARCHIVED_DEFAULT})
    elif locked.is_default and not will_be_active:
        raise ValidationError({"is_active": DEFAULT_ARCHIVED})
    if "is_active" in changed and not will_be_active:
        _refuse_archiving_stock(locked)
        # A session starting now waits for this row's lock (``count_start`` takes a key-share
        # lock on it), then finds the location archived.
        session_id = count_open_at(locked)
        if session_id is not None:
            raise CountSessionOpen(
                location=locked.code,
                session_id=session_id,
                doing="an archived location counts nothing",
            )
    for field in changed:
        setattr(locked, field, cleaned[field])
    locked.full_clean(validate_unique=False, validate_constraints=False)
    if old_default is not None and old_default.pk != locked.pk:
        _take_default(old_default)
    locked.save(update_fields=[*changed, "updated_at"])
    catalog_changed()  # as for a new location: the catalog's cached reads show them
    return locked


def _lock_default() -> Location:
    """The default location, its row locked for the rest of the transaction (a new location
    taking the mark: no other row is locked)."""
    for _ in range(_DEFAULT_LOCK_ATTEMPTS):
        # A concurrent move may take the mark while we wait for the lock: the row is read
        # again once locked, and without the mark it is not returned, so we look anew.
        locked = Location.objects.select_for_update(of=("self",)).filter(is_default=True).first()
        if locked is not None:
            return locked
        location_default()  # none at all (an emptied database): it makes MAIN the default
    raise Conflict("The default location is being changed by another request; retry.")


def _lock_with_default(location: Location) -> tuple[Location, Location]:
    """``location`` and the default location, their rows locked in key order for the rest of
    the transaction (one row when it is the default already)."""
    for _ in range(_DEFAULT_LOCK_ATTEMPTS):
        # A concurrent move may take the mark while we wait for the lock: the rows are read
        # again once locked, and a row without the mark is no longer the default's, so we
        # look anew.
        rows = list(
            Location.objects.select_for_update(of=("self",))
            .filter(Q(is_default=True) | Q(pk=location.pk))
            .order_by("pk")
        )
        locked = next((row for row in rows if row.pk == location.pk), None)
        if locked is None:
            raise Location.DoesNotExist(f"No location with id {location.pk}.")
        default = next((row for row in rows if row.is_default), None)
        if default is not None:
            return locked, default
        location_default()  # none at all (an emptied database): it makes MAIN the default
    raise Conflict("The default location is being changed by another request; retry.")


def _take_default(old_default: Location) -> None:
    """Take the mark from the old default (locked), before another location gets it: the
    database allows one default at a time, and checks it statement by statement."""
    old_default.is_default = False
    old_default.save(update_fields=["is_default", "updated_at"])


def _refuse_archiving_stock(locked: Location) -> None:
    """``Protected`` if the location (its row locked) still holds units on hand or committed,
    or has units on their way to it, or transfers from or to it not yet shipped or received."""
    held = StockLevel.objects.filter(location=locked).aggregate(
        on_hand=Coalesce(Sum("on_hand"), 0),
        committed=Coalesce(Sum("committed"), 0),
        incoming=Coalesce(Sum("incoming"), 0),
    )
    if held["on_hand"] or held["committed"]:
        raise Protected(
            f"{locked.code} still holds stock ({held['on_hand']} units on hand, "
            f"{held['committed']} of them committed to open orders); an archived location holds "
            "none. Sell, move or write them off first.",
            details={
                "location": locked.code,
                "on_hand": held["on_hand"],
                "committed": held["committed"],
            },
        )
    transfers = _open_transfers(locked)
    if held["incoming"] or transfers:
        raise Protected(
            _open_transfers_message(locked, held["incoming"], transfers),
            details={"location": locked.code, "incoming": held["incoming"], "transfers": transfers},
        )


def _open_transfers(location: Location) -> list[str]:
    """The numbers of the transfers from or to ``location`` still in draft or in transit,
    oldest first."""
    return list(
        Transfer.objects.filter(
            Q(from_location=location) | Q(to_location=location),
            status__in=[TransferStatus.DRAFT, TransferStatus.IN_TRANSIT],
        )
        .order_by("id")
        .values_list("number", flat=True)
    )


def _open_transfers_message(location: Location, incoming: int, transfers: list[str]) -> str:
    """Why ``location`` cannot be archived yet: its open transfers (the first few named), and
    the units on their way to it."""
    shown = ", ".join(transfers[:5]) + (
        f" and {len(transfers) - 5} more" if len(transfers) > 5 else ""
    )
    parts = [f"transfers from or to it are not done yet ({shown})"] if transfers else []
    if incoming:
        parts.append(f"{incoming} unit(s) are on their way to it")
    return (
        f"{location.code} cannot be archived: {' and '.join(parts)}; an archived location "
        "takes no stock. Ship and receive, close or cancel them first."
    )


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
        session_id = count_open_at(location)
        if session_id is not None:
            return {
                "is_active": f"A count session (COUNT-{session_id}) is open at {location.code}: "
                "apply or cancel it before archiving the location."
            }
        held = StockLevel.objects.filter(
            Q(on_hand__gt=0) | Q(committed__gt=0), location=location
        ).aggregate(on_hand=Sum("on_hand"), committed=Sum("committed"))
        if held["on_hand"]:
            return {
                "is_active": f"{location.code} still holds {held['on_hand']} unit(s) on hand, "
                f"{held['committed'] or 0} of them committed to open orders: move or count them "
                "out (and fulfil or cancel those orders) before archiving it."
            }
        incoming = (
            StockLevel.objects.filter(location=location).aggregate(units=Sum("incoming"))["units"]
            or 0
        )
        transfers = _open_transfers(location)
        if incoming or transfers:
            return {"is_active": _open_transfers_message(location, incoming, transfers)}
    return {}
