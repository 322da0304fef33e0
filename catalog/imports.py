"""Bulk CSV import of products, variants and stock: parse, preview, then apply all or nothing.

The file has one row per variant (the columns are in ``COLUMNS`` and the README). A row finds its
variant by SKU. A known SKU's row changes what it gives (empty cells keep the current value) and
moves its stock; a new SKU's row creates the variant, and its product unless one exists with the
same name, color and collection (in the file, or else in the catalog). Stock comes in two kinds
of column that never share a row: ``received`` adds units (a ``received`` movement) and
``counted`` sets the quantity counted on the shelf (a ``count_correction`` movement).

``import_preview`` parses and validates a file against the current catalog without writing
anything and returns what each row will do and every error of the file, each with its row (as a
spreadsheet numbers it) and column; ``import_batch_create`` keeps that preview in the database
(``ImportBatch``), so any instance can apply it; ``import_apply`` applies a batch once, in one
transaction: it locks the products and variants it touches in primary-key order (products
first, as ``product_delete`` does), plans the rows again against the locked data and refuses,
changing nothing, unless the plan is exactly the one the preview showed. Then it writes products
and variants in bulk and every stock change through ``services.stock_apply``, with the staff
user as the actor. A file whose content was applied before (``content_hash``) is refused unless
the caller confirms it (``allow_reimport``): a delivery note imported twice receives its goods
twice.

Why the csv module and not django-import-export: that library saves each row through
``Model.save()`` (one instance, several queries per row) and would have to be taught to keep
quantities out of those saves and route them through the ledger; a 50,000-row file would then
cost hundreds of thousands of queries. Here the queries are a fixed number per chunk of rows
(``CHUNK``), not per row, and stock goes through the one stock service.
"""

import codecs
import csv
import difflib
import hashlib
import io
import json
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from catalog.models import (
    Category,
    ImportBatch,
    ImportBatchStatus,
    IssuedSku,
    Product,
    Size,
    Variant,
)
from catalog.services import DEFAULT_LOW_STOCK_THRESHOLD
from catalog.validators import (
    MAX_QUANTITY,
    normalize_code,
    validate_gtin,
    validate_season_code,
    validate_sku,
)
from catalog.versions import catalog_changed
from core.actors import Actor
from core.exceptions import ApplicationError
from stock.models import MovementReason, StockMovement
from stock.services import StockChange, stock_apply, stock_movement

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

MAX_ROWS = 50_000
MAX_BYTES = 10 * 1024 * 1024
# Rows per IN (...) look-up and per call of the stock service: a fixed number of queries per
# chunk, well below SQLite's limit on query parameters, and small enough that the CASE of a
# bulk UPDATE stays cheap on PostgreSQL.
CHUNK = 5_000
STOCK_CHUNK = 1_000

_TRUE = {"yes", "y", "true", "1"}
_FALSE = {"no", "n", "false", "0"}
_WHOLE_NUMBER = re.compile(r"^[+-]?[0-9]+$")
_DECIMAL_COMMA = re.compile(r"^[+-]?[0-9]+,[0-9]{1,2}$")
# Cells a spreadsheet would run as a formula; the export prefixes them with an apostrophe.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PRICE_LIMIT = Decimal("100000000")  # 10 digits, 2 after the point
_CATEGORIES = {value.casefold(): value for value in Category.values}
_SIZES = {value.casefold(): value for value in Size.values}
_FIELD_LABELS = {
    "name": "name",
    "category": "category",
    "color": "color",
    "collection": "collection",
    "price": "price",
    "is_active": "active",
    "barcode": "barcode",
    "low_stock_threshold": "low-stock threshold",
}

Row = dict[str, Any]
Error = dict[str, Any]
_T = TypeVar("_T")


class ImportRefused(ApplicationError):
    """The import cannot be applied (already applied, has errors, or the catalog changed since
    the preview). Nothing was changed; ``details`` says why, row by row where it can."""

    code = "import_refused"
    status_code = 409
    default_message = "The import was not applied; nothing was changed."


class ImportAppliedBefore(ImportRefused):
    """A file with the same content (see ``content_hash``) was applied before; applying it again
    takes an explicit ``allow_reimport``. ``details["imports"]`` are the earlier imports' ids."""

    code = "import_applied_before"

    def __init__(self, earlier: Sequence[ImportBatch]) -> None:
        super().__init__(
            f"This file was applied already: {applied_before(earlier)}. Nothing was changed. "
            "Applying it again receives its deliveries a second time; confirm it only if they "
            "really arrived twice.",
            details={"imports": [batch.pk for batch in earlier]},
        )


@dataclass(slots=True)
class Preview:
    """What a file will do: its parsed rows, each row's plan, every error and the counts."""

    rows: list[Row]
    plan: list[Row]
    errors: list[Error]
    summary: dict[str, int] = field(default_factory=dict)
    content_hash: str = ""

    @property
    def ok(self) -> bool:
        return not self.errors


def import_preview(*, data: bytes) -> Preview:
    """Parse and validate a CSV file against the current catalog. Reads only."""
    parsed = parse_csv(data)
    plan: list[Row] = []
    errors = parsed.errors
    if parsed.has_skus:
        plan, plan_errors = _plan(parsed.rows, _load_state(parsed.rows), columns=parsed.columns)
        errors = sorted([*errors, *plan_errors], key=_error_order(parsed.labels))
    return Preview(
        rows=parsed.rows,
        plan=plan,
        errors=errors,
        summary=_summary(plan, parsed.row_count, len(errors)),
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
    quantities at the time do not count), row by row in SKU order.
    """
    canonical = sorted(
        ([row.get(column) for column in COLUMNS] for row in rows),
        key=lambda values: values[0] or "",
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


def applied_before(earlier: Sequence[ImportBatch]) -> str:
    """When, by whom and as which import a file was applied, in words."""
    return "; ".join(
        f"on {timezone.localtime(batch.applied_at):%Y-%m-%d %H:%M} by "
        f"{batch.applied_actor or 'an unknown actor'} as import #{batch.pk}"
        for batch in earlier
        if batch.applied_at is not None
    )


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


@transaction.atomic
def import_apply(
    *, batch: ImportBatch, actor: Actor, allow_reimport: bool = False
) -> dict[str, int]:
    """Apply a previewed batch, all or nothing, once. Returns the summary of what it did.

    A file whose content was applied before (as another batch) is refused unless
    ``allow_reimport``: a delivery note imported twice would receive its goods twice.
    """
    earlier = list(import_batches_applied(content_hash=batch.content_hash, excluding=batch.pk))
    try:
        with transaction.atomic():
            claimed = ImportBatch.objects.filter(
                pk=batch.pk, status=ImportBatchStatus.PREVIEWED, error_count=0
            ).update(
                status=ImportBatchStatus.APPLIED,
                applied_at=timezone.now(),
                applied_by_id=actor.user_id,
                applied_actor=actor.name[:150],
                reimport=bool(earlier),
            )
    except IntegrityError as error:
        # The database keeps one first application per content (a unique index). It refused
        # this one: another batch of the same file was applied meanwhile, and committed while
        # this claim waited for it. So two concurrent applies of one file apply it once.
        raise ImportAppliedBefore(
            list(import_batches_applied(content_hash=batch.content_hash, excluding=batch.pk))
        ) from error
    if not claimed:
        status = ImportBatch.objects.filter(pk=batch.pk).values_list("status", flat=True).first()
        if status == ImportBatchStatus.APPLIED:
            raise ImportRefused("This import was applied already; it is applied once only.")
        raise ImportRefused("This import has errors; fix the file and preview it again.")
    if earlier and not allow_reimport:
        raise ImportAppliedBefore(earlier)  # the claim is rolled back with the transaction
    rows, preview_plan = batch.rows, batch.plan
    state = _load_state(rows, lock_products=_product_ids(preview_plan))
    plan, errors = _plan(rows, state)
    if errors or plan != preview_plan:
        raise ImportRefused(
            "The catalog changed since the preview; nothing was changed. Preview the file again.",
            details={"rows": _differences(preview_plan, plan, errors)},
        )
    try:
        with transaction.atomic():
            variant_ids = _write_catalog(plan, state, batch=batch, actor=actor)
    except IntegrityError as error:
        # A SKU or barcode claimed by a concurrent writer after our look: nothing is written.
        raise ImportRefused(
            "A SKU or barcode of this file was taken by another change just now; nothing was "
            "changed. Preview the file again.",
        ) from error
    _write_stock(plan, variant_ids, batch=batch, actor=actor)
    return _summary(plan, len(rows), 0)


# Parsing: bytes to normalised rows, no database.


class _FileError(Exception):
    pass


@dataclass(slots=True)
class ParsedFile:
    """A file's rows and every error that shows without the catalog.

    ``rows`` holds every data row whose cells line up with the header, errors or not: a cell that
    is empty, absent or wrong is ``None``, and a row with errors names their columns in
    ``"invalid"``. The checks against the catalog then run on those rows too, so the preview lists
    every error of the file at once, not those of the rows that happened to parse. ``row_count``
    counts every data row, with errors or not (blank rows aside).
    """

    rows: list[Row]
    errors: list[Error]
    row_count: int = 0
    # The rows can be checked against the catalog only when the header gives their SKU.
    has_skus: bool = False
    # Each header cell's label, in the file's order, in which a row's errors are listed.
    labels: list[str] = field(default_factory=list)
    # The columns whose cells are read.
    columns: frozenset[str] = frozenset()


def parse_csv(data: bytes) -> ParsedFile:
    """Parse a file: its rows, normalised, and every error of the file and of each row, each with
    its row number as a spreadsheet shows it and its column."""
    try:
        text = _decode(data)
        records = _records(text)
        header_number, header = _header_record(records)
        columns, labels, errors = _header(header_number, header)
        rows, row_errors, count = _rows(records, columns, labels)
    except _FileError as error:
        return ParsedFile(rows=[], errors=[_error(None, "", str(error))])
    return ParsedFile(
        rows=rows,
        errors=[*errors, *row_errors],
        row_count=count,
        has_skus="sku" in columns,
        labels=labels,
        columns=frozenset(column for column in columns if column),
    )


def _decode(data: bytes) -> str:
    if len(data) > MAX_BYTES:
        raise _FileError(
            f"The file is larger than {MAX_BYTES // (1024 * 1024)} MB; split it into smaller files."
        )
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise _FileError(
            'The file is UTF-16 text; save it as "CSV UTF-8" in your spreadsheet app and '
            "upload it again."
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise _FileError(
            f"The file is not UTF-8 text (line {line} has the byte 0x{data[error.start]:02x}, "
            'which UTF-8 does not allow). Save it as "CSV UTF-8" in your spreadsheet app and '
            "upload it again."
        ) from error
    if "\x00" in text:
        raise _FileError("The file contains NUL bytes; it is not a CSV text file.")
    if not text.strip():
        raise _FileError("The file is empty.")
    return text


@dataclass(frozen=True, slots=True)
class _BadRecord:
    """A record that is not valid CSV: why, and the position of the cell at fault if known."""

    message: str
    cell: int | None


class _Lines:
    """The file's lines for the csv reader, from a position that can be moved back."""

    __slots__ = ("lines", "position")

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        self.position = 0

    def __iter__(self) -> "_Lines":
        return self

    def __next__(self) -> str:
        if self.position >= len(self.lines):
            raise StopIteration
        self.position += 1
        return self.lines[self.position - 1]


# Each quote left open costs a read to the end of the file (see _records); past this many the
# rest of the file is not read.
_OPEN_QUOTES_READ_PAST = 20
_QUOTE_LEFT_OPEN = (
    'This cell opens a quote (") that is never closed, so the rest of the file would read as '
    "this one cell; close the quote or remove it. The rows below are checked as if this row "
    "ended with its line."
)
_QUOTE_NOT_CLOSING = (
    'A cell in quotes ends at its closing quote ("): write a quote inside it as two quotes ("") '
    "or remove the quotes."
)


def _records(text: str) -> Iterator[tuple[int, list[str] | _BadRecord]]:
    """Every record of the file, with its row number as a spreadsheet shows it (the first record
    is row 1, blank rows count, a cell spanning lines is one row), or what is wrong with it.

    A record that is not valid CSV does not end the file: the csv module starts the next record
    on the next line, so every later row is still read and checked. A quote that is never closed
    would make the rest of the file one cell; reading goes on from the line after the one that
    opened it, as if it had been closed there.
    """
    lines = io.StringIO(text, newline="").readlines()
    delimiter = _delimiter(lines)
    feed = _Lines(lines)
    reader = csv.reader(feed, delimiter=delimiter, strict=True)
    quotes_left_open = 0
    number = 0
    while True:
        start = feed.position
        number += 1
        try:
            yield number, next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            if "unexpected end of data" in str(error):
                quotes_left_open += 1
                yield number, _BadRecord(_QUOTE_LEFT_OPEN, _quote_cell(lines[start], delimiter))
                if quotes_left_open == _OPEN_QUOTES_READ_PAST:
                    raise _FileError(
                        f"More than {_OPEN_QUOTES_READ_PAST} quotes are never closed; the file "
                        f"is not read past row {number}. Check its quotes."
                    ) from error
                feed.position = start + 1
            elif "expected after" in str(error):
                record = "".join(lines[start : feed.position])
                yield number, _BadRecord(_QUOTE_NOT_CLOSING, _quote_cell(record, delimiter))
            else:
                yield number, _BadRecord(f"This row is not valid CSV: {error}.", None)


def _delimiter(lines: Sequence[str]) -> str:
    first_line = next((line for line in lines if line.strip()), "")
    # Spreadsheets in many European locales save CSV with semicolons.
    return max((",", ";", "\t"), key=first_line.count)


def _quote_cell(record: str, delimiter: str) -> int | None:
    """The position of the cell whose quotes the csv module refused: the first that does not
    end at its closing quote, or else the one left open."""
    cell, quoted, at_start, position = 0, False, True, 0
    while position < len(record):
        char = record[position]
        if quoted and char == '"':
            if record.startswith('"', position + 1):
                position += 1  # "" stands for one quote
            else:
                quoted = False
                if record[position + 1 : position + 2] not in (delimiter, "\r", "\n", ""):
                    return cell
        elif not quoted and char == '"' and at_start:
            quoted = True
        elif not quoted and char == delimiter:
            cell += 1
        at_start = not quoted and char == delimiter
        position += 1
    return cell if quoted else None


def _header_record(records: Iterator[tuple[int, list[str] | _BadRecord]]) -> tuple[int, list[str]]:
    for number, record in records:
        if isinstance(record, _BadRecord):
            raise _FileError(f"The header row (row {number}) is not valid CSV. {record.message}")
        if any(cell.strip() for cell in record):
            return number, record
    raise _FileError("The file is empty.")


def _header(number: int, header: list[str]) -> tuple[list[str | None], list[str], list[Error]]:
    """Each cell's column (``None`` for a cell whose column is wrong: its cells are not read),
    each cell's label for messages, and an error for every problem of the header row."""
    names = [_column_name(cell) for cell in header]
    labels = [
        name if name in COLUMNS else (cell.strip() or f"column {position}")
        for position, (cell, name) in enumerate(zip(header, names, strict=True), 1)
    ]
    counts = Counter(names)
    errors: list[Error] = []
    reported: set[str] = set()
    the_columns = f"The columns are: {', '.join(COLUMNS)} (only sku is required)."
    for position, (cell, name) in enumerate(zip(header, names, strict=True), 1):
        label = labels[position - 1]
        if not name:
            message = f"Column {position} has no name. {the_columns}"
        elif name not in COLUMNS:
            close = difflib.get_close_matches(name, COLUMNS, n=1)
            hint = f" Did you mean {close[0]}?" if close else ""
            message = f'"{cell.strip()}" is not a column.{hint} {the_columns}'
        elif counts[name] > 1 and name not in reported:
            reported.add(name)
            message = f'"{name}" appears more than once; none of its cells are read.'
        else:
            continue
        errors.append(_error(number, label, message))
    if "sku" not in names:
        errors.append(_error(number, "sku", f'The "sku" column is missing. {the_columns}'))
    columns = [name if name in COLUMNS and counts[name] == 1 else None for name in names]
    return columns, labels, errors


def _column_name(cell: str) -> str:
    return re.sub(r"[\s-]+", "_", cell.strip().casefold())


def _rows(
    records: Iterator[tuple[int, list[str] | _BadRecord]],
    columns: list[str | None],
    labels: list[str],
) -> tuple[list[Row], list[Error], int]:
    rows: list[Row] = []
    errors: list[Error] = []
    count = 0
    for number, record in records:
        if not isinstance(record, _BadRecord) and not any(cell.strip() for cell in record):
            continue  # spreadsheets leave empty rows at the end
        count += 1
        if count > MAX_ROWS:
            raise _FileError(
                f"The file has more than {MAX_ROWS:,} rows; split it into smaller files."
            )
        if isinstance(record, _BadRecord):
            cell = record.cell
            label = labels[cell] if cell is not None and cell < len(labels) else ""
            errors.append(_error(number, label, record.message))
        elif len(record) != len(columns):
            errors.append(_cell_count_error(number, len(record), labels))
        else:
            row, row_errors = _parse_row(
                number, {c: cell for c, cell in zip(columns, record, strict=True) if c}
            )
            rows.append(row)
            errors += row_errors
    if count == 0:
        raise _FileError("The file has a header row but no rows of data.")
    return rows, errors, count


def _cell_count_error(number: int, cells: int, labels: list[str]) -> Error:
    if cells < len(labels):
        return _error(
            number,
            labels[cells],
            f"This row has {cells} cells; the header has {len(labels)}, so {labels[cells]} and "
            "the columns after it have none. Is a separator missing?",
        )
    return _error(
        number,
        f"column {len(labels) + 1}",
        f"This row has {cells} cells; the header has {len(labels)}. Is there a separator too "
        "many, or a cell holding one outside quotes?",
    )


def _parse_row(number: int, cells: Mapping[str, str]) -> tuple[Row, list[Error]]:
    row: Row = {"row": number}
    errors: list[Error] = []
    for column in COLUMNS:
        raw = cells.get(column, "").strip()
        row[column] = None
        if column == "on_hand" or not raw:
            # on_hand is what an export shows; stock changes only by received or counted.
            continue
        try:
            row[column] = _PARSERS[column](raw)
        except ValidationError as error:
            errors.append(_error(number, column, " ".join(error.messages)))
    if "sku" in cells and not cells["sku"].strip():
        errors.append(_error(number, "sku", "This row has no SKU; every row needs one."))
    if row["received"] is not None and row["counted"] is not None:
        errors.append(
            _error(
                number,
                "counted",
                "A row either receives units (received) or counts them (counted), not both.",
            )
        )
    if errors:
        row["invalid"] = [error["column"] for error in errors]
    return row, errors


def _text(max_length: int) -> Any:
    def parse(value: str) -> str:
        if value.startswith("'") and value[1:].startswith(FORMULA_STARTS):
            value = value[1:]  # the export's guard against spreadsheet formulas
        value = " ".join(value.split())
        if len(value) > max_length:
            raise ValidationError(f"At most {max_length} characters.")
        return value

    return parse


def _sku(value: str) -> str:
    value = normalize_code(value)
    validate_sku(value)
    return value


def _choice(choices: Mapping[str, str], what: str) -> Any:
    def parse(value: str) -> str:
        try:
            return choices[" ".join(value.split()).casefold()]
        except KeyError:
            raise ValidationError(
                f'"{value}" is not a {what}; use one of: {", ".join(choices.values())}.'
            ) from None

    return parse


def _collection(value: str) -> str:
    value = normalize_code(value)
    validate_season_code(value)
    return value


def _price(value: str) -> str:
    if _DECIMAL_COMMA.match(value):
        # Spreadsheets in locales that write 29,90 keep the comma in the CSV they save (with
        # semicolons between cells). With at most two digits after it, it cannot be a
        # thousands separator.
        value = value.replace(",", ".")
    try:
        price = Decimal(value)
    except InvalidOperation:
        raise ValidationError(f'"{value}" is not a price; write it like 29.90 or 29,90.') from None
    if not price.is_finite() or price <= 0:
        raise ValidationError("A price is more than 0, e.g. 29.90.")
    if price != price.quantize(Decimal("0.01")):
        raise ValidationError("A price has at most 2 decimal places.")
    if price >= _PRICE_LIMIT:
        raise ValidationError("This price is too large.")
    return str(price.quantize(Decimal("0.01")))


def _barcode(value: str) -> str:
    validate_gtin(value)
    return value


def _whole_number(what: str, *, minimum: int) -> Any:
    def parse(value: str) -> int:
        if not _WHOLE_NUMBER.match(value):
            raise ValidationError(f'"{value}" is not a whole number; {what} is a count of units.')
        number = int(value)
        if number < minimum:
            raise ValidationError(
                f"{what.capitalize()} cannot be negative."
                if number < 0
                else f"{what.capitalize()} is at least {minimum}."
            )
        if number > MAX_QUANTITY:
            raise ValidationError(f"{what.capitalize()} is at most {MAX_QUANTITY:,}.")
        return number

    return parse


def _flag(value: str) -> bool:
    folded = value.casefold()
    if folded in _TRUE:
        return True
    if folded in _FALSE:
        return False
    raise ValidationError(f'"{value}" is not yes or no.')


_PARSERS: dict[str, Any] = {
    "sku": _sku,
    "product": _text(200),
    "category": _choice(_CATEGORIES, "category"),
    "color": _text(50),
    "collection": _collection,
    "price": _price,
    "size": _choice(_SIZES, "size"),
    "barcode": _barcode,
    "low_stock_threshold": _whole_number("the low-stock threshold", minimum=0),
    "active": _flag,
    "received": _whole_number("received", minimum=0),
    "counted": _whole_number("counted", minimum=0),
}


# Planning: what each row does to the catalog as it is now.


@dataclass(slots=True)
class _State:
    """The part of the catalog the file touches, read in a fixed number of queries."""

    variants: dict[str, dict[str, Any]]  # by SKU
    products: dict[int, dict[str, Any]]  # by id: the product's plannable fields
    products_by_key: dict[tuple[str, str, str], list[int]]
    sizes: dict[int, dict[str, str]]  # product id -> size -> SKU
    issued: set[str]  # new SKUs of the file that were issued before
    barcodes: dict[str, str]  # barcode -> SKU of the variant that has it


_PRODUCT_VALUES = ("name", "category", "color", "collection", "price", "is_active")


def _chunks(items: Sequence[_T], size: int = CHUNK) -> Iterator[Sequence[_T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _product_values(values: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    product = {name: values[prefix + name] for name in _PRODUCT_VALUES}
    product["price"] = str(Decimal(product["price"]).quantize(Decimal("0.01")))
    return product


def _key(name: str, color: str, collection: str) -> tuple[str, str, str]:
    return (" ".join(name.split()).casefold(), " ".join(color.split()).casefold(), collection)


def _load_state(rows: Sequence[Row], *, lock_products: Sequence[int] | None = None) -> _State:
    """Read what the rows touch. With ``lock_products`` (when applying), lock those products
    and then the file's variants, each in primary-key order, before reading them."""
    locking = lock_products is not None
    if lock_products:
        for ids in _chunks(sorted(lock_products)):
            list(
                # NO KEY: stock movements of these products, written meanwhile by sales,
                # take a key-share lock on them; a full lock would deadlock with those.
                Product.objects.select_for_update(no_key=True, of=("self",))
                .filter(pk__in=ids)
                .order_by("pk")
                .values_list("pk", flat=True)
            )
    skus = sorted({row["sku"] for row in rows if row["sku"]})
    variant_fields = ("id", "sku", "product_id", "size", "barcode", "low_stock_threshold")
    product_fields = tuple(f"product__{name}" for name in _PRODUCT_VALUES)
    variants: dict[str, dict[str, Any]] = {}
    products: dict[int, dict[str, Any]] = {}
    for chunk in _chunks(skus):
        queryset = Variant.objects.filter(sku__in=chunk).order_by("pk")
        if locking:
            queryset = queryset.select_for_update(of=("self",))
        for values in queryset.values(*variant_fields, "quantity", *product_fields):
            variants[values["sku"]] = values
            products[values["product_id"]] = _product_values(values, "product__")
    collections = sorted({row["collection"] for row in rows if row["collection"]})
    products_by_key: dict[tuple[str, str, str], list[int]] = defaultdict(list)
    for values in Product.objects.filter(collection__in=collections).values("id", *_PRODUCT_VALUES):
        products.setdefault(values["id"], _product_values(values))
        products_by_key[_key(values["name"], values["color"], values["collection"])].append(
            values["id"]
        )
    new_skus = [sku for sku in skus if sku not in variants]
    issued: set[str] = set()
    for chunk in _chunks(new_skus):
        issued.update(IssuedSku.objects.filter(sku__in=chunk).values_list("sku", flat=True))
    barcodes: dict[str, str] = {}
    file_barcodes = sorted({row["barcode"] for row in rows if row["barcode"]})
    for chunk in _chunks(file_barcodes):
        for barcode, sku in Variant.objects.filter(barcode__in=chunk).values_list("barcode", "sku"):
            barcodes[barcode or ""] = sku
    return _State(
        variants=variants,
        products=products,
        products_by_key=dict(products_by_key),
        sizes={},
        issued=issued,
        barcodes=barcodes,
    )


def _load_sizes(state: _State, product_ids: Sequence[int]) -> None:
    """The sizes the products that gain variants already have."""
    for chunk in _chunks(sorted(product_ids)):
        for product_id, size, sku in Variant.objects.filter(product_id__in=chunk).values_list(
            "product_id", "size", "sku"
        ):
            state.sizes.setdefault(product_id, {})[size] = sku


def _plan(
    rows: Sequence[Row], state: _State, *, columns: Collection[str] = COLUMNS
) -> tuple[list[Row], list[Error]]:
    """What each row does, given the catalog as ``state`` has it, and what is wrong.

    Rows with errors of their own (from parsing) are checked too, as far as their valid cells
    allow, so that every error of the file shows at once; only rows without errors are planned.
    ``columns`` are those the file has: a new SKU's row misses the others all at once.
    """
    errors: list[Error] = []
    first_row_of_sku: dict[str, int] = {}
    first_row_of_barcode: dict[str, int] = {}
    # Products and the values the file gives them: by id, or by key for new products.
    wanted: dict[int | tuple[str, str, str], dict[str, tuple[Any, int]]] = defaultdict(dict)
    bad_rows = {row["row"] for row in rows if "invalid" in row}

    def fail(row: Row, column: str, message: str) -> None:
        errors.append(_error(row["row"], column, message))
        bad_rows.add(row["row"])

    def want(ref: int | tuple[str, str, str], row: Row) -> None:
        for column, name in PRODUCT_COLUMNS.items():
            value = row[column]
            if value is None:
                continue
            first = wanted[ref].get(name)
            if first is None:
                wanted[ref][name] = (value, row["row"])
            elif first[0] != value:
                fail(
                    row,
                    column,
                    f"Row {first[1]} gives this product the {_FIELD_LABELS[name]} "
                    f"{_show(first[0])}; this row gives {_show(value)}.",
                )

    # Pass 1: within the file, and the rows of SKUs the catalog has.
    for row in rows:
        sku = row["sku"]
        if sku is None:
            continue  # its own error says it has no SKU; nothing else can be checked
        if sku in first_row_of_sku:
            fail(row, "sku", f"SKU {sku} is on row {first_row_of_sku[sku]} already.")
            continue
        first_row_of_sku[sku] = row["row"]
        barcode = row["barcode"]
        if barcode:
            if barcode in first_row_of_barcode:
                fail(row, "barcode", f"Row {first_row_of_barcode[barcode]} has this barcode too.")
            first_row_of_barcode[barcode] = row["row"]
            owner = state.barcodes.get(barcode)
            if owner is not None and owner != sku:
                fail(row, "barcode", f"Barcode {barcode} belongs to SKU {owner} already.")
        variant = state.variants.get(sku)
        if variant is not None:
            if row["size"] is not None and row["size"] != variant["size"]:
                fail(
                    row,
                    "size",
                    f"SKU {sku} is size {variant['size']}; a variant's size never changes.",
                )
            want(variant["product_id"], row)
            received = row["received"] or 0
            if variant["quantity"] + received > MAX_QUANTITY:
                fail(row, "received", f"A quantity cannot exceed {MAX_QUANTITY:,}.")
            continue
        if sku in state.issued:
            fail(row, "sku", f"SKU {sku} was used by a deleted variant; SKUs are never reused.")
        invalid = row.get("invalid", ())
        missing = [c for c in NEW_SKU_REQUIRED if row[c] is None and c not in invalid]
        for column in missing:
            if column in columns:
                fail(row, column, f"SKU {sku} is new: give its {column} to create it.")
        # One error, not one per column: in a delivery note (sku, received) an unknown SKU is
        # most likely a wrong one, and a row a column cannot point at.
        if absent := [column for column in missing if column not in columns]:
            fail(
                row,
                "sku",
                f"SKU {sku} is not in the catalog; to create it, the file needs columns for its "
                f"{', '.join(absent)}.",
            )

    # The products of the known SKUs, as the file leaves them: new SKUs join them by key.
    # Their current keys do not count (a row may rename its product).
    products_of_known_skus = {ref for ref in wanted if isinstance(ref, int)}
    keys_in_file: dict[tuple[str, str, str], set[int]] = defaultdict(set)
    for product_id in products_of_known_skus:
        final = _final(state.products[product_id], wanted[product_id])
        keys_in_file[_key(final["name"], final["color"], final["collection"])].add(product_id)

    # Pass 2: the new SKUs find or create their product: every row that says which product
    # and size, so that a row with another error still gets its size and product checked.
    new_rows = [
        row
        for row in rows
        if row["sku"] is not None
        and row["sku"] not in state.variants
        and first_row_of_sku[row["sku"]] == row["row"]
        and all(row[column] is not None for column in ("product", "color", "collection", "size"))
    ]
    product_of_row: dict[int, int | tuple[str, str, str]] = {}
    for row in new_rows:
        key = _key(row["product"], row["color"], row["collection"])
        candidates = keys_in_file.get(key) or {
            product_id
            for product_id in state.products_by_key.get(key, [])
            if product_id not in products_of_known_skus
        }
        if len(candidates) > 1:
            ids = ", ".join(f"#{product_id}" for product_id in sorted(candidates))
            fail(
                row,
                "product",
                f"Several products are called {row['product']} ({row['color']}, "
                f"{row['collection']}): {ids}. Give this variant in the admin.",
            )
            continue
        ref: int | tuple[str, str, str] = next(iter(candidates)) if candidates else key
        product_of_row[row["row"]] = ref
        want(ref, row)
    _load_sizes(state, sorted({ref for ref in product_of_row.values() if isinstance(ref, int)}))
    sizes_in_file: dict[int | tuple[str, str, str], dict[str, int]] = defaultdict(dict)
    for row in new_rows:
        ref_or_none = product_of_row.get(row["row"])
        if ref_or_none is None:
            continue
        size = row["size"]
        if isinstance(ref_or_none, int) and size in state.sizes.get(ref_or_none, {}):
            taken = state.sizes[ref_or_none][size]
            fail(row, "size", f"This product has size {size} already, as SKU {taken}.")
        elif size in sizes_in_file[ref_or_none]:
            fail(row, "size", f"Row {sizes_in_file[ref_or_none][size]} adds this size already.")
        else:
            sizes_in_file[ref_or_none][size] = row["row"]

    # Pass 3: each good row's plan.
    new_product_numbers: dict[tuple[str, str, str], int] = {}
    plan: list[Row] = []
    for row in rows:
        if row["row"] in bad_rows:
            continue
        variant = state.variants.get(row["sku"])
        ref = variant["product_id"] if variant is not None else product_of_row[row["row"]]
        plan.append(_row_plan(row, variant, ref, state, wanted, new_product_numbers))
    return plan, errors


def _final(current: Mapping[str, Any], given: Mapping[str, tuple[Any, int]]) -> dict[str, Any]:
    return {**current, **{name: value for name, (value, _) in given.items()}}


def _row_plan(
    row: Row,
    variant: Mapping[str, Any] | None,
    ref: int | tuple[str, str, str],
    state: _State,
    wanted: Mapping[int | tuple[str, str, str], Mapping[str, tuple[Any, int]]],
    new_product_numbers: dict[tuple[str, str, str], int],
) -> Row:
    if isinstance(ref, int):
        current = state.products[ref]
        final = _final(current, wanted[ref])
        changes = {
            name: [current[name], value] for name, value in final.items() if current[name] != value
        }
        product = {"action": "change" if changes else "none", "id": ref, "changes": changes}
    else:
        number = new_product_numbers.setdefault(ref, len(new_product_numbers) + 1)
        final = _final({"is_active": True}, wanted[ref])
        product = {"action": "create", "new": number, "fields": final}
    product["label"] = f"{final['name']} ({final['color']}, {final['collection']})"
    if variant is None:
        threshold = row["low_stock_threshold"]
        variant_plan: Row = {
            "action": "create",
            "id": None,
            "size": row["size"],
            "fields": {
                "barcode": row["barcode"],
                "low_stock_threshold": DEFAULT_LOW_STOCK_THRESHOLD
                if threshold is None
                else threshold,
            },
        }
        quantity = 0
    else:
        changes = {
            name: [variant[name], row[column]]
            for column, name in VARIANT_COLUMNS.items()
            if row[column] is not None and row[column] != variant[name]
        }
        variant_plan = {
            "action": "change" if changes else "none",
            "id": variant["id"],
            "size": variant["size"],
            "changes": changes,
        }
        quantity = variant["quantity"]
    stock: Row | None = None
    if row["received"]:
        stock = {"received": row["received"]}
    elif row["counted"] is not None:
        stock = {"counted": row["counted"], "from": quantity}
    return {
        "row": row["row"],
        "sku": row["sku"],
        "product": product,
        "variant": variant_plan,
        "stock": stock,
    }


def _product_ids(plan: Sequence[Row]) -> list[int]:
    return sorted({entry["product"]["id"] for entry in plan if "id" in entry["product"]})


# Writing: the catalog in bulk, then the stock through the stock service.


def _write_catalog(
    plan: Sequence[Row], state: _State, *, batch: ImportBatch, actor: Actor
) -> dict[str, int]:
    """Create and change the products and variants; return every row's variant id by SKU.

    A new variant is created with its opening quantity and an ``initial`` movement by the
    actor, as ``services.variant_create`` does, but in bulk: a fixed number of INSERTs per
    chunk of rows instead of several queries per row.
    """
    catalog_changed()  # bulk statements send no signals
    now = timezone.now()
    new_products: dict[int, Product] = {}
    changes_of_product: dict[int, dict[str, Any]] = {}
    for entry in plan:
        product = entry["product"]
        if product["action"] == "create" and product["new"] not in new_products:
            fields = product["fields"]
            new_products[product["new"]] = Product(
                **{**fields, "price": Decimal(fields["price"])}, created_at=now, updated_at=now
            )
        elif product["action"] == "change":
            changes_of_product[product["id"]] = {
                name: Decimal(new) if name == "price" else new
                for name, (_, new) in product["changes"].items()
            }
    Product.objects.bulk_create(new_products.values())
    _update_grouped(Product, changes_of_product, now=now)

    new_variants: list[Variant] = []
    for entry in plan:
        if entry["variant"]["action"] != "create":
            continue
        product = entry["product"]
        new_variants.append(
            Variant(
                product_id=(
                    new_products[product["new"]].pk
                    if product["action"] == "create"
                    else product["id"]
                ),
                sku=entry["sku"],
                size=entry["variant"]["size"],
                quantity=_opening_quantity(entry),
                created_at=now,
                updated_at=now,
                **entry["variant"]["fields"],
            )
        )
    # The claim on each SKU for good (see services._sku_issue); a concurrent claim fails here.
    IssuedSku.objects.bulk_create([IssuedSku(sku=variant.sku) for variant in new_variants])
    Variant.objects.bulk_create(new_variants)
    StockMovement.objects.bulk_create(
        stock_movement(
            variant,
            delta=variant.quantity,
            quantity_after=variant.quantity,
            reason=MovementReason.INITIAL,
            actor=actor,
            note=_note(batch),
            reference=_reference(batch),
            at=now,
        )
        for variant in new_variants
        if variant.quantity > 0
    )

    # Barcodes are unique, so each is its own value: bulk_update. Thresholds repeat: grouped.
    barcodes = [
        Variant(
            pk=state.variants[entry["sku"]]["id"],
            barcode=entry["variant"]["changes"]["barcode"][1],
            updated_at=now,
        )
        for entry in plan
        if entry["variant"]["action"] == "change" and "barcode" in entry["variant"]["changes"]
    ]
    Variant.objects.bulk_update(barcodes, ["barcode", "updated_at"], batch_size=STOCK_CHUNK)
    _update_grouped(
        Variant,
        {
            state.variants[entry["sku"]]["id"]: {
                "low_stock_threshold": entry["variant"]["changes"]["low_stock_threshold"][1]
            }
            for entry in plan
            if entry["variant"]["action"] == "change"
            and "low_stock_threshold" in entry["variant"]["changes"]
        },
        now=now,
    )
    ids = {sku: values["id"] for sku, values in state.variants.items()}
    ids.update({variant.sku: variant.pk for variant in new_variants})
    return ids


def _update_grouped(
    model: type[Product] | type[Variant], changes: Mapping[int, Mapping[str, Any]], *, now: Any
) -> None:
    """One UPDATE per distinct set of new values (a new price for a whole collection is one
    query), rather than ``bulk_update``'s CASE, which costs about half a millisecond a row in
    Python. The rows are locked, so writing by id overwrites nothing concurrent."""
    ids_by_values: dict[tuple[tuple[str, Any], ...], list[int]] = defaultdict(list)
    for pk, values in changes.items():
        ids_by_values[tuple(sorted(values.items()))].append(pk)
    for new_values, ids in ids_by_values.items():
        for chunk in _chunks(sorted(ids)):
            model.objects.filter(pk__in=chunk).update(**dict(new_values), updated_at=now)


def _opening_quantity(entry: Mapping[str, Any]) -> int:
    stock = entry["stock"] or {}
    return int(stock.get("received", stock.get("counted", 0)))


def _note(batch: ImportBatch) -> str:
    return (f"CSV import #{batch.pk}" + (f" ({batch.filename})" if batch.filename else ""))[:500]


def _reference(batch: ImportBatch) -> str:
    return f"import-{batch.pk}"


def _write_stock(
    plan: Sequence[Row], variant_ids: Mapping[str, int], *, batch: ImportBatch, actor: Actor
) -> None:
    """The stock of the variants that existed: through the stock service, in chunks (each in
    primary-key order, the chunks too, so the one global lock order holds across calls)."""
    existing = [e for e in plan if e["stock"] and e["variant"]["action"] != "create"]
    received = [
        StockChange(variant_id=variant_ids[e["sku"]], delta=e["stock"]["received"])
        for e in existing
        if "received" in e["stock"]
    ]
    counted = [
        StockChange(
            variant_id=variant_ids[e["sku"]], delta=e["stock"]["counted"] - e["stock"]["from"]
        )
        for e in existing
        if "counted" in e["stock"]
    ]
    for reason, changes in (
        (MovementReason.RECEIVED, received),
        (MovementReason.COUNT_CORRECTION, counted),
    ):
        ordered = sorted(changes, key=lambda change: change.variant_id)
        for chunk in _chunks(ordered, STOCK_CHUNK):
            stock_apply(
                changes=chunk,
                reason=reason,
                actor=actor,
                note=_note(batch),
                reference=_reference(batch),
            )


# Reporting.


def _error(row: int | None, column: str, message: str) -> Error:
    return {"row": row, "column": column, "message": message}


def _error_order(labels: Sequence[str]) -> Callable[[Error], tuple[int, int]]:
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


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _summary(plan: Sequence[Row], rows: int, errors: int) -> dict[str, int]:
    created = {e["product"]["new"] for e in plan if e["product"]["action"] == "create"}
    changed = {e["product"]["id"] for e in plan if e["product"]["action"] == "change"}
    received = [e["stock"]["received"] for e in plan if e["stock"] and "received" in e["stock"]]
    return {
        "rows": rows,
        "errors": errors,
        "products_created": len(created),
        "products_changed": len(changed),
        "variants_created": sum(e["variant"]["action"] == "create" for e in plan),
        "variants_changed": sum(e["variant"]["action"] == "change" for e in plan),
        "rows_received": len(received),
        "units_received": sum(received),
        "rows_counted": sum(bool(e["stock"]) and "counted" in e["stock"] for e in plan),
    }


def describe(entry: Mapping[str, Any]) -> list[str]:
    """What a row of the plan does, in words, one phrase per part."""
    product, variant, stock = entry["product"], entry["variant"], entry["stock"]
    parts = []
    if product["action"] == "create":
        parts.append(f"product created: {product['label']}")
    elif product["action"] == "change":
        parts.append(f"product changed: {_changes(product['changes'])}")
    if variant["action"] == "create":
        parts.append(f"variant created ({variant['size']})")
    elif variant["action"] == "change":
        parts.append(f"variant changed: {_changes(variant['changes'])}")
    if stock and variant["action"] == "create":
        how = "received" if "received" in stock else "counted"
        parts.append(f"opening stock {_opening_quantity(entry)} ({how})")
    elif stock and "received" in stock:
        parts.append(f"stock +{stock['received']} received")
    elif stock:
        difference = stock["counted"] - stock["from"]
        parts.append(f"stock counted to {stock['counted']} (was {stock['from']}, {difference:+d})")
    return parts or ["no change"]


def _changes(changes: Mapping[str, Sequence[Any]]) -> str:
    return ", ".join(
        f"{_FIELD_LABELS[name]} {_show(old) if old not in (None, '') else '(none)'} → {_show(new)}"
        for name, (old, new) in changes.items()
    )


def _differences(before: Sequence[Row], after: Sequence[Row], errors: Sequence[Error]) -> list[str]:
    """The rows whose plan changed since the preview (and new errors), in words; at most 20."""
    lines = [f"row {e['row']}, {e['column'] or 'file'}: {e['message']}" for e in errors]
    after_by_row = {entry["row"]: entry for entry in after}
    for entry in before:
        now = after_by_row.get(entry["row"])
        if now is None or now == entry:
            continue
        lines.append(
            f"row {entry['row']} (SKU {entry['sku']}): the preview said "
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


__all__ = [
    "COLUMNS",
    "MAX_BYTES",
    "MAX_ROWS",
    "ImportAppliedBefore",
    "ImportRefused",
    "ParsedFile",
    "Preview",
    "applied_before",
    "content_hash",
    "describe",
    "format_errors",
    "import_apply",
    "import_batch_create",
    "import_batches_applied",
    "import_preview",
    "parse_csv",
]
