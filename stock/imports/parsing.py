"""Parsing: the file's bytes to rows of typed, normalised values, and every error that shows
without the catalog (a bad cell, a wrong header, a row with too many cells), each with its row
as a spreadsheet numbers it and its column. No database."""

import difflib
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError

from catalog.models import Category, Size
from catalog.validators import (
    MAX_QUANTITY,
    normalize_code,
    validate_gtin,
    validate_season_code,
    validate_sku,
)
from stock.imports.columns import COLUMNS, FORMULA_STARTS, MAX_ROWS, Error, Row, error
from stock.imports.dialects import BadRecord, FileError, Records, decode, records

_TRUE = {"yes", "y", "true", "1"}
_FALSE = {"no", "n", "false", "0"}
_WHOLE_NUMBER = re.compile(r"^[+-]?[0-9]+$")
_DECIMAL_COMMA = re.compile(r"^[+-]?[0-9]+,[0-9]{1,2}$")
_PRICE_LIMIT = Decimal("100000000")  # 10 digits, 2 after the point
_CATEGORIES = {value.casefold(): value for value in Category.values}
_SIZES = {value.casefold(): value for value in Size.values}


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
        text = decode(data)
        file_records = records(text)
        header_number, header = _header_record(file_records)
        columns, labels, errors = _header(header_number, header)
        rows, row_errors, count = _rows(file_records, columns, labels)
    except FileError as unreadable:
        return ParsedFile(rows=[], errors=[error(None, "", str(unreadable))])
    return ParsedFile(
        rows=rows,
        errors=[*errors, *row_errors],
        row_count=count,
        has_skus="sku" in columns,
        labels=labels,
        columns=frozenset(column for column in columns if column),
    )


def _header_record(records: Records) -> tuple[int, list[str]]:
    for number, record in records:
        if isinstance(record, BadRecord):
            raise FileError(f"The header row (row {number}) is not valid CSV. {record.message}")
        if any(cell.strip() for cell in record):
            return number, record
    raise FileError("The file is empty.")


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
        errors.append(error(number, label, message))
    if "sku" not in names:
        errors.append(error(number, "sku", f'The "sku" column is missing. {the_columns}'))
    columns = [name if name in COLUMNS and counts[name] == 1 else None for name in names]
    return columns, labels, errors


def _column_name(cell: str) -> str:
    return re.sub(r"[\s-]+", "_", cell.strip().casefold())


def _rows(
    records: Records,
    columns: list[str | None],
    labels: list[str],
) -> tuple[list[Row], list[Error], int]:
    rows: list[Row] = []
    errors: list[Error] = []
    count = 0
    for number, record in records:
        if not isinstance(record, BadRecord) and not any(cell.strip() for cell in record):
            continue  # spreadsheets leave empty rows at the end
        count += 1
        if count > MAX_ROWS:
            raise FileError(
                f"The file has more than {MAX_ROWS:,} rows; split it into smaller files."
            )
        if isinstance(record, BadRecord):
            cell = record.cell
            label = labels[cell] if cell is not None and cell < len(labels) else ""
            errors.append(error(number, label, record.message))
        elif len(record) != len(columns):
            errors.append(_cell_count_error(number, len(record), labels))
        else:
            row, row_errors = _parse_row(
                number, {c: cell for c, cell in zip(columns, record, strict=True) if c}
            )
            rows.append(row)
            errors += row_errors
    if count == 0:
        raise FileError("The file has a header row but no rows of data.")
    return rows, errors, count


def _cell_count_error(number: int, cells: int, labels: list[str]) -> Error:
    if cells < len(labels):
        return error(
            number,
            labels[cells],
            f"This row has {cells} cells; the header has {len(labels)}, so {labels[cells]} and "
            "the columns after it have none. Is a separator missing?",
        )
    return error(
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
        except ValidationError as invalid:
            errors.append(error(number, column, " ".join(invalid.messages)))
    if "sku" in cells and not cells["sku"].strip():
        errors.append(error(number, "sku", "This row has no SKU; every row needs one."))
    if row["received"] is not None and row["counted"] is not None:
        errors.append(
            error(
                number,
                "counted",
                "A row either receives units (received) or counts them (counted), not both.",
            )
        )
    if errors:
        row["invalid"] = [row_error["column"] for row_error in errors]
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


def _location(value: str) -> str:
    # Whether a location has this code (and takes stock) is the planning's to say.
    return normalize_code(value)


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
    "location": _location,
    "received": _whole_number("received", minimum=0),
    "counted": _whole_number("counted", minimum=0),
}
