"""The preview: what a file will do and every error of it, read against the current catalog
without writing anything, and kept in the database (``ImportBatch``) to be applied later."""

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.db.models import QuerySet

from catalog.models import ImportBatch, ImportBatchStatus
from stock.imports.columns import COLUMNS, Error, Row
from stock.imports.parsing import parse_csv
from stock.imports.plan import RowPlan, StoredRow, plan_to_json
from stock.imports.planning import load_state, plan_rows
from stock.imports.report import error_order, summary


@dataclass(slots=True)
class Preview:
    """What a file will do: its parsed rows, each row's plan (as ``ImportBatch.plan`` stores
    it), every error and the counts."""

    rows: list[Row]
    plan: list[StoredRow]
    errors: list[Error]
    summary: dict[str, int] = field(default_factory=dict)
    content_hash: str = ""

    @property
    def ok(self) -> bool:
        return not self.errors


def import_preview(*, data: bytes) -> Preview:
    """Parse and validate a CSV file against the current catalog. Reads only."""
    parsed = parse_csv(data)
    plan: list[RowPlan] = []
    errors = parsed.errors
    if parsed.has_skus:
        plan, plan_errors = plan_rows(parsed.rows, load_state(parsed.rows), columns=parsed.columns)
        errors = sorted([*errors, *plan_errors], key=error_order(parsed.labels))
    return Preview(
        rows=parsed.rows,
        plan=plan_to_json(plan),
        errors=errors,
        summary=summary(plan, parsed.row_count, len(errors)),
        content_hash=content_hash(parsed.rows),
    )


def content_hash(rows: Sequence[Row]) -> str:
    """The fingerprint of what a file says, by which a file applied before is recognised.

    It is taken from the parsed rows, not from the bytes: a delivery note opened and saved again
    in a spreadsheet app comes back with a byte-order mark added or dropped, CRLF line ends, a
    trailing newline more or less, other quoting, semicolons, "35" for "35.00", blank rows, its
    columns or rows in another order, and it is still the same delivery, which applying again
    would receive twice. So the same content means the same values in the columns the import
    reads, normalised as the import reads them (``on_hand`` is ignored on import, so an export's
    quantities at the time do not count), row by row in SKU order (then location).

    A row's location counts only when the row names one, so that a file keeps the fingerprint
    it had before there was a location column (a delivery note applied then is still known).
    """
    canonical = sorted(
        (
            [row.get(column) for column in COLUMNS if column != "location"]
            + ([row["location"]] if row.get("location") else [])
            for row in rows
        ),
        key=lambda values: (values[0] or "", values[len(COLUMNS) - 1 :]),
    )
    return hashlib.sha256(json.dumps(canonical, separators=(",", ":")).encode()).hexdigest()


def import_batches_applied(
    *, content_hash: str, excluding: int | None = None
) -> QuerySet[ImportBatch]:
    """The applied imports of a file with this content, oldest first (see ``content_hash``)."""
    batches = ImportBatch.objects.filter(
        content_hash=content_hash, status=ImportBatchStatus.APPLIED
    ).exclude(content_hash="")
    if excluding is not None:
        batches = batches.exclude(pk=excluding)
    return batches.order_by("applied_at", "pk")


def import_batch_create(
    *, preview: Preview, filename: str = "", created_by_id: int | None = None
) -> ImportBatch:
    """Keep a preview in the database so that it can be applied later, by any instance."""
    return ImportBatch.objects.create(
        filename=filename[:255],
        status=ImportBatchStatus.PREVIEWED if preview.ok else ImportBatchStatus.INVALID,
        created_by_id=created_by_id,
        row_count=preview.summary["rows"],
        error_count=len(preview.errors),
        summary=preview.summary,
        rows=preview.rows,
        plan=preview.plan,
        errors=preview.errors,
        content_hash=preview.content_hash,
    )
