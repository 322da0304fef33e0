"""The report: what a file does and what is wrong with it, in counts and in words, for the
admin's preview, the command and the refusals."""

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from django.utils import timezone

from catalog.models import ImportBatch
from stock.imports.columns import COLUMNS, FIELD_LABELS, Error
from stock.imports.plan import Changes, Counted, NewProduct, NewVariant, Received, RowPlan


def error_order(labels: Sequence[str]) -> Callable[[Error], tuple[int, int]]:
    """Errors by row, and within a row in the order of the file's columns: a row's problems
    with no column first, those of columns the file lacks (a new SKU's product) last."""
    position = {label: index for index, label in enumerate(labels)}
    position.update(
        (column, len(labels) + index)
        for index, column in enumerate(COLUMNS)
        if column not in position
    )

    def order(error: Error) -> tuple[int, int]:
        return (error["row"] or 0, position.get(error["column"], -1))

    return order


def show(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def summary(plan: Sequence[RowPlan], rows: int, errors: int) -> dict[str, int]:
    created = {e.product.number for e in plan if isinstance(e.product, NewProduct)}
    changed = {e.product.id for e in plan if e.product.action == "change"}
    received = [e.stock.units for e in plan if isinstance(e.stock, Received)]
    return {
        "rows": rows,
        "errors": errors,
        "products_created": len(created),
        "products_changed": len(changed),
        "variants_created": sum(e.variant.action == "create" for e in plan),
        "variants_changed": sum(e.variant.action == "change" for e in plan),
        "rows_received": len(received),
        "units_received": sum(received),
        "rows_counted": sum(isinstance(e.stock, Counted) for e in plan),
    }


def describe(entry: RowPlan | Mapping[str, Any]) -> list[str]:
    """What a row of the plan does, in words, one phrase per part. The row may be as
    ``ImportBatch.plan`` stores it."""
    if not isinstance(entry, RowPlan):
        entry = RowPlan.from_json(entry)
    product, variant, stock = entry.product, entry.variant, entry.stock
    parts = []
    if isinstance(product, NewProduct):
        parts.append(f"product created: {product.label}")
    elif product.changes:
        parts.append(f"product changed: {_changes(product.changes)}")
    if isinstance(variant, NewVariant):
        parts.append(f"variant created ({variant.size})")
    elif variant.changes:
        parts.append(f"variant changed: {_changes(variant.changes)}")
    at = "" if stock is None or stock.location is None else f" at {stock.location}"
    if stock is not None and isinstance(variant, NewVariant):
        how = "received" if isinstance(stock, Received) else "counted"
        parts.append(f"opening stock {entry.opening_quantity}{at} ({how})")
    elif isinstance(stock, Received):
        parts.append(f"stock +{stock.units} received{at}")
    elif isinstance(stock, Counted):
        parts.append(f"stock counted to {stock.counted}{at} (was {stock.was}, {stock.delta:+d})")
    return parts or ["no change"]


def _changes(changes: Changes) -> str:
    return ", ".join(
        f"{FIELD_LABELS[change.field]} "
        f"{show(change.old) if change.old not in (None, '') else '(none)'} → {show(change.new)}"
        for change in changes
    )


def differences(
    before: Sequence[RowPlan], after: Sequence[RowPlan], errors: Sequence[Error]
) -> list[str]:
    """The rows whose plan changed since the preview (and new errors), in words; at most 20."""
    lines = [f"row {e['row']}, {e['column'] or 'file'}: {e['message']}" for e in errors]
    after_by_row = {entry.row: entry for entry in after}
    for entry in before:
        now = after_by_row.get(entry.row)
        if now is None or now == entry:
            continue
        lines.append(
            f"row {entry.row} (SKU {entry.sku}): the preview said "
            f"{'; '.join(describe(entry))}, now it would be {'; '.join(describe(now))}."
        )
    return lines[:20]


def format_errors(errors: Sequence[Error]) -> list[str]:
    """Errors as lines of text, for the command and the messages."""
    return [
        (f"row {error['row']}" if error["row"] else "file")
        + (f", {error['column']}" if error["column"] else "")
        + f": {error['message']}"
        for error in errors
    ]


def applied_before(earlier: Sequence[ImportBatch]) -> str:
    """When, by whom and as which import a file was applied, in words."""
    return "; ".join(
        f"on {timezone.localtime(batch.applied_at):%Y-%m-%d %H:%M} by "
        f"{batch.applied_actor or 'an unknown actor'} as import #{batch.pk}"
        for batch in earlier
        if batch.applied_at is not None
    )
