"""The catalog and its stock as CSV: one row per variant, in the import's columns, so that an
export can be edited in a spreadsheet and imported again (``catalog.imports``).

``on_hand`` shows the quantity at the time of the export and is ignored on import; ``received``
and ``counted`` are left empty for staff to fill in. Rows are streamed from one query, so a
large catalog costs neither memory nor a query per row.
"""

from collections.abc import Iterator
from typing import Any, Protocol

from django.db.models import QuerySet

from catalog.imports.columns import COLUMNS, FORMULA_STARTS
from catalog.models import Product, Variant
from catalog.selectors import SIZE_ORDER

_BATCH = 2_000


class _Writer(Protocol):
    def writerow(self, row: Any, /) -> Any: ...


def export_rows(*, products: QuerySet[Product] | None = None) -> Iterator[list[str]]:
    """The header, then one row per variant, grouped by product, sizes smallest first: of every
    product, or of ``products`` only (the admin's list as filtered)."""
    yield list(COLUMNS)
    selected = Variant.objects.all()
    if products is not None:
        selected = selected.filter(product__in=products.order_by().values("pk"))
    variants = (
        selected.order_by("product__collection", "product__name", "product_id", SIZE_ORDER)
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
            "quantity",
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
        active,
        qty,
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
            "yes" if active else "no",
            str(qty),
            "",
            "",
        ]


def _cell(text: str) -> str:
    """A text a spreadsheet would run as a formula gets an apostrophe, which the import drops."""
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def export_csv(writer: _Writer) -> int:
    """Write the export to a ``csv.writer``; return the number of variants written."""
    count = -1
    for count, row in enumerate(export_rows()):  # noqa: B007  # the count is the last index
        writer.writerow(row)
    return count
