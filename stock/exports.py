"""The catalog and its stock as CSV, in the import's columns, so that an export can be edited in
a spreadsheet and imported again (``stock.imports``).

One row per variant and active location where it has a stock level (it has had stock there),
with its units on hand there; a variant with none (never stocked, or only at archived
locations) gets one row at the default location, with 0. So every row names a location the
import takes, each (SKU, location) once, and a stocktake at a shop is the export's rows of that
location with ``counted`` filled in. Archived locations are left out: they hold no stock, and
the import refuses them.

``on_hand`` shows the units at the time of the export and is ignored on import; ``received``
and ``counted`` are left empty for staff to fill in. Rows are streamed from one query, so a
large catalog costs neither memory nor a query per row.
"""

from collections.abc import Iterator
from typing import Any, Protocol

from django.db.models import FilteredRelation, Q, QuerySet

from catalog.models import Product, Variant
from catalog.selectors import SIZE_ORDER
from stock.imports.columns import COLUMNS, FORMULA_STARTS
from stock.imports.locations import file_locations

_BATCH = 2_000


class _Writer(Protocol):
    def writerow(self, row: Any, /) -> Any: ...


def export_rows(*, products: QuerySet[Product] | None = None) -> Iterator[list[str]]:
    """The header, then the rows (see above), grouped by product, sizes smallest first, each
    variant's locations oldest first (MAIN first): of every product, or of ``products`` only
    (the admin's list as filtered)."""
    yield list(COLUMNS)
    locations = file_locations()
    active = {
        location.pk: code for code, location in locations.by_code.items() if location.is_active
    }
    selected = Variant.objects.all()
    if products is not None:
        selected = selected.filter(product__in=products.order_by().values("pk"))
    variants = (
        # The levels at active locations, joined: a row each, or one row of NULLs for none.
        selected.annotate(
            level=FilteredRelation(
                "stock_levels", condition=Q(stock_levels__location_id__in=list(active))
            )
        )
        .order_by(
            "product__collection",
            "product__name",
            "product_id",
            SIZE_ORDER,
            "id",
            "level__location_id",
        )
        .values_list(
            "sku",
            "product__name",
            "product__category",
            "product__color",
            "product__collection",
            "product__price",
            "size",
            "barcode",
            "low_stock_threshold",
            "product__is_active",
            "level__location_id",
            "level__on_hand",
        )
        .iterator(chunk_size=_BATCH)
    )
    for (
        sku,
        name,
        category,
        color,
        collection,
        price,
        size,
        barcode,
        threshold,
        active_product,
        location_id,
        on_hand,
    ) in variants:
        yield [
            sku,
            _cell(name),
            category,
            _cell(color),
            collection,
            f"{price:.2f}",
            size,
            barcode or "",
            str(threshold),
            "yes" if active_product else "no",
            locations.default if location_id is None else active[location_id],
            str(on_hand or 0),
            "",
            "",
        ]


def _cell(text: str) -> str:
    """A text a spreadsheet would run as a formula gets an apostrophe, which the import drops."""
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def export_csv(writer: _Writer) -> int:
    """Write the export to a ``csv.writer``; return the number of rows written."""
    count = -1
    for count, row in enumerate(export_rows()):  # noqa: B007  # the count is the last index
        writer.writerow(row)
    return count
