"""The file as text and CSV records: its encoding, its separator, and records that are not
valid CSV, whatever spreadsheet app saved it. No column is read here (see ``parsing``)."""

import codecs
import csv
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from stock.imports.columns import MAX_BYTES


class FileError(Exception):
    """What makes a whole file unreadable; its message is the file's one error."""


def decode(data: bytes) -> str:
    if len(data) > MAX_BYTES:
        raise FileError(
            f"The file is larger than {MAX_BYTES // (1024 * 1024)} MB; split it into smaller files."
        )
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise FileError(
            'The file is UTF-16 text; save it as "CSV UTF-8" in your spreadsheet app and '
            "upload it again."
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise FileError(
            f"The file is not UTF-8 text (line {line} has the byte 0x{data[error.start]:02x}, "
            'which UTF-8 does not allow). Save it as "CSV UTF-8" in your spreadsheet app and '
            "upload it again."
        ) from error
    if "\x00" in text:
        raise FileError("The file contains NUL bytes; it is not a CSV text file.")
    if not text.strip():
        raise FileError("The file is empty.")
    return text


@dataclass(frozen=True, slots=True)
class BadRecord:
    """A record that is not valid CSV: why, and the position of the cell at fault if known."""

    message: str
    cell: int | None


Records = Iterator[tuple[int, list[str] | BadRecord]]


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


# Each quote left open costs a read to the end of the file (see records); past this many the
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


def records(text: str) -> Records:
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
                yield number, BadRecord(_QUOTE_LEFT_OPEN, _quote_cell(lines[start], delimiter))
                if quotes_left_open == _OPEN_QUOTES_READ_PAST:
                    raise FileError(
                        f"More than {_OPEN_QUOTES_READ_PAST} quotes are never closed; the file "
                        f"is not read past row {number}. Check its quotes."
                    ) from error
                feed.position = start + 1
            elif "expected after" in str(error):
                record = "".join(lines[start : feed.position])
                yield number, BadRecord(_QUOTE_NOT_CLOSING, _quote_cell(record, delimiter))
            else:
                yield number, BadRecord(f"This row is not valid CSV: {error}.", None)


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
