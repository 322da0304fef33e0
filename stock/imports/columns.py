"""The import file's format: its columns, what they set, its limits (and the chunks of rows
that keep the queries a fixed number per chunk), and the shape of an error.

The export writes the same columns (``stock.exports``), so an export imports again as is.
A row's quantities (``on_hand``, ``received``, ``counted``) are at its ``location`` (a code; the
default location when the column or the cell is empty).
"""

from collections.abc import Iterator, Sequence
from typing import Any, TypedDict, TypeVar

COLUMNS = (
    "sku",
    "product",
    "category",
    "color",
    "collection",
    "price",
    "size",
    "barcode",
    "low_stock_threshold",
    "active",
    "location",
    "on_hand",
    "received",
    "counted",
)
# What a new SKU's row must give: the whole variant and its product.
NEW_SKU_REQUIRED = ("product", "category", "color", "collection", "price", "size")
# Row columns that set a product field.
PRODUCT_COLUMNS = {
    "product": "name",
    "category": "category",
    "color": "color",
    "collection": "collection",
    "price": "price",
    "active": "is_active",
}
VARIANT_COLUMNS = {"barcode": "barcode", "low_stock_threshold": "low_stock_threshold"}
# The fields a row can set, as messages name them.
FIELD_LABELS = {
    "name": "name",
    "category": "category",
    "color": "color",
    "collection": "collection",
    "price": "price",
    "is_active": "active",
    "barcode": "barcode",
    "low_stock_threshold": "low-stock threshold",
}

MAX_ROWS = 50_000
MAX_BYTES = 10 * 1024 * 1024
# Rows per IN (...) look-up and per call of the stock service: a fixed number of queries per
# chunk, well below SQLite's limit on query parameters, and small enough that the CASE of a
# bulk UPDATE stays cheap on PostgreSQL.
CHUNK = 5_000
STOCK_CHUNK = 1_000

_T = TypeVar("_T")


def chunks(items: Sequence[_T], size: int = CHUNK) -> Iterator[Sequence[_T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# Cells a spreadsheet would run as a formula; the export prefixes them with an apostrophe.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

# A parsed row: ``"row"`` (its number as a spreadsheet shows it), a value or ``None`` for each
# of ``COLUMNS``, and ``"invalid"`` (the columns of its errors) if it has any. It is kept as is in
# ``ImportBatch.rows``, so the apply plans the very rows the preview planned.
Row = dict[str, Any]


class Error(TypedDict):
    """An error of the file: its row (``None`` for the file as a whole), its column (the header
    cell's label, or ``""``) and what is wrong. Kept as is in ``ImportBatch.errors``."""

    row: int | None
    column: str
    message: str


def error(row: int | None, column: str, message: str) -> Error:
    return {"row": row, "column": column, "message": message}
