"""Keys bound to locations: ``create_api_key NAME --location CODE`` (repeatable). A bound key
places orders and changes stock only at its locations (``stock.services``); reading stock
stays open everywhere (click and collect needs it)."""

from collections.abc import Collection, Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import CommandParser
from django.db import transaction
from django.db.models import QuerySet

from catalog.validators import normalize_code
from core.api.key_options import KeyOption
from core.api.models import ApiKey
from stock.models import Location


def _add_arguments(parser: CommandParser) -> None:
    parser.add_argument(
        "--location",
        action="append",
        default=[],
        dest="locations",
        metavar="CODE",
        help="Bind the key to a location (repeat for several): it then places orders and "
        "changes stock only there.",
    )


def api_key_bind_locations(api_key: ApiKey, codes: list[str]) -> list[Location]:
    """Bind ``api_key`` to the active locations with ``codes`` (any case), all or none."""
    wanted = sorted({normalize_code(code) for code in codes})
    found = {location.code: location for location in Location.objects.filter(code__in=wanted)}
    unknown = [code for code in wanted if code not in found]
    if unknown:
        raise ValidationError({"location": f"No location with code {', '.join(unknown)}."})
    archived = [code for code in wanted if not found[code].is_active]
    if archived:
        raise ValidationError({"location": f"{', '.join(archived)} is archived."})
    api_key.locations.add(*found.values())
    return [found[code] for code in wanted]


@transaction.atomic
def location_bind_api_keys(
    *, location: Location, api_keys: Collection[ApiKey], among: QuerySet[ApiKey]
) -> None:
    """Make ``api_keys`` the keys bound to ``location``, out of those ``among`` (the keys a
    form offered): an offered key left out is unbound, a key not offered keeps its binding.
    Keys are bound only to an active location."""
    wanted = {key.pk for key in api_keys}
    if wanted and not location.is_active:
        raise ValidationError({"api_keys": f"{location.code} is archived: bind no key to it."})
    current = set(location.api_keys.values_list("pk", flat=True))
    offered = set(among.values_list("pk", flat=True))
    location.api_keys.remove(*((current & offered) - wanted))
    location.api_keys.add(*(wanted - current))


def _apply(api_key: ApiKey, options: Mapping[str, Any]) -> str | None:
    if not options.get("locations"):
        return None
    bound = api_key_bind_locations(api_key, options["locations"])
    return f"bound to {', '.join(location.code for location in bound)}"


CREATE_API_KEY_LOCATION = KeyOption(name="location", add_arguments=_add_arguments, apply=_apply)
