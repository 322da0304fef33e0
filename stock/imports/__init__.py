"""Bulk CSV import of products, variants and stock: parse, preview, then apply all or nothing.

The file has one row per variant and location (the columns are in ``columns.COLUMNS`` and the
README). A row finds its variant by SKU, and its location by code (the default location when it
names none). A known SKU's row changes what it gives (empty cells keep the current value) and
moves its stock at that location; a new SKU's row (one only) creates the variant, and its
product unless one exists with the same name, color and collection (in the file, or else in the
catalog). Stock comes in two kinds of column that never share a row: ``received`` adds units (a
``received`` movement) and ``counted`` sets the units counted on the shelf there (a
``count_correction`` movement).

``import_preview`` parses and validates a file against the current catalog without writing
anything and returns what each row will do and every error of the file, each with its row (as a
spreadsheet numbers it) and column; ``import_batch_create`` keeps that preview in the database
(``ImportBatch``), so any instance can apply it; ``import_apply`` applies a batch once, in one
transaction: it locks the products and variants it touches in primary-key order (products
first, as ``product_delete`` does), plans the rows again against the locked data and refuses,
changing nothing, unless the plan is exactly the one the preview showed. Then it writes products
and variants in bulk and every stock change through ``stock.services.stock_apply``, with the
staff user as the actor. A file whose content was applied before (``content_hash``) is refused
unless the caller confirms it (``allow_reimport``): a delivery note imported twice receives its
goods twice.

It belongs to the stock app, which sits above the catalog: its rows carry quantities at
locations, which only the stock app may read and write. It reads and writes the catalog's
products, variants and batches (``ImportBatch``) as any app above the catalog may.

One job per module, each using only those before it:

- ``columns``: the file's columns, what they set, its limits, the shape of an error;
- ``dialects``: bytes to CSV records, whatever encoding and separator a spreadsheet app chose;
- ``parsing``: records to rows of typed values, and every error that shows without the catalog;
- ``plan``: the plan, typed and frozen, and its stored (JSON) form;
- ``locations``: the locations a file may name and the stock levels there;
- ``report``: counts and words for the plan, the errors and earlier imports;
- ``planning``: the plan of the rows against the catalog, and every error against it;
- ``exceptions``: why an import is refused;
- ``preview``: the preview, its fingerprint (``content_hash``) and the batches kept;
- ``apply``: applying a batch.

Why the csv module and not django-import-export: that library saves each row through
``Model.save()`` (one instance, several queries per row) and would have to be taught to keep
quantities out of those saves and route them through the ledger; a 50,000-row file would then
cost hundreds of thousands of queries. Here the queries are a fixed number per chunk of rows
(``columns.CHUNK``), not per row, and stock goes through the one stock service.
"""

from stock.imports.apply import import_apply
from stock.imports.columns import COLUMNS, MAX_BYTES, MAX_ROWS
from stock.imports.exceptions import ImportAppliedBefore, ImportRefused
from stock.imports.preview import (
    content_hash,
    import_batch_create,
    import_batches_applied,
    import_preview,
)
from stock.imports.report import applied_before, describe, format_errors

__all__ = [
    "COLUMNS",
    "MAX_BYTES",
    "MAX_ROWS",
    "ImportAppliedBefore",
    "ImportRefused",
    "applied_before",
    "content_hash",
    "describe",
    "format_errors",
    "import_apply",
    "import_batch_create",
    "import_batches_applied",
    "import_preview",
]
