"""The file's ``location`` column: the locations a file may name, and the stock levels of its
variants there. The import's planning and the export read locations and levels through this
module only.
"""

from collections.abc import Collection, Mapping
from dataclasses import dataclass

from stock.imports.columns import chunks
from stock.models import Location
from stock.selectors import location_default, location_list, stock_level_list


@dataclass(frozen=True, slots=True)
class FileLocations:
    """Every location by code, and the default's code (where a row that names none is)."""

    by_code: Mapping[str, Location]
    default: str

    def active(self) -> list[str]:
        return [code for code, location in self.by_code.items() if location.is_active]

    def error(self, code: str) -> str | None:
        """Why a row cannot name ``code``, or ``None`` if it can."""
        location = self.by_code.get(code)
        if location is None:
            return f"No location with code {code}; use one of: {', '.join(self.active())}."
        if not location.is_active:
            return f"{code} is archived and holds no stock."
        return None


def file_locations() -> FileLocations:
    """Every location, in one query (two in a database emptied since the migrations, where
    ``location_default`` makes MAIN again)."""
    by_code = {location.code: location for location in location_list()}
    default = next((location for location in by_code.values() if location.is_default), None)
    if default is None:
        default = location_default()
        by_code[default.code] = default
    return FileLocations(by_code=by_code, default=default.code)


# A variant's units on hand and committed at a location, by (variant id, location id).
Levels = dict[tuple[int, int], tuple[int, int]]


def file_levels(variant_ids: Collection[int]) -> Levels:
    """The levels of the variants at every location, in a fixed number of queries per chunk.
    When applying, the caller holds the variants' locks, under which alone levels change."""
    levels: Levels = {}
    for chunk in chunks(sorted(variant_ids)):
        for variant_id, location_id, on_hand, committed in (
            stock_level_list()
            .filter(variant_id__in=chunk)
            .values_list("variant_id", "location_id", "on_hand", "committed")
        ):
            levels[variant_id, location_id] = (on_hand, committed)
    return levels
