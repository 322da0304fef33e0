"""Parsing a file: bad files, headers, rows that are not valid CSV and bad cells are clear errors,
each with its row and column, and none hides the others."""

import codecs

import pytest

from stock import imports
from stock.imports import import_preview
from stock.tests.import_support import (
    EAN13_WRONG_CHECK_DIGIT,
    HEADER,
    csv_bytes,
    errors_of,
    new_row,
    the_error,
)

pytestmark = pytest.mark.django_db


# Bad files: clear errors, nothing changed


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "The file is empty."),
        (b"\n\n", "The file is empty."),
        (HEADER.encode() + b"\n", "The file has a header row but no rows of data."),
        (b'"sku,received\nA,1\n', "The header row (row 1) is not valid CSV."),
        (codecs.BOM_UTF16_LE + "sku\nA\n".encode("utf-16-le"), "The file is UTF-16 text"),
        ("sku,product\nA,Café\n".encode("latin-1"), "line 2 has the byte 0xe9"),
        (b"sku\nA\x00\n", "NUL bytes"),
    ],
)
def test_bad_files_are_refused_with_a_message(data, message):
    [error] = import_preview(data=data).errors
    assert error["row"] is None
    assert message in error["message"]


def test_every_problem_of_the_header_is_an_error_of_row_1_and_the_rows_are_still_checked(
    make_product,
):
    variant = make_product(stock={"S-M": 1}).variants.get()
    data = (
        "\n"  # a blank line first: the header is row 2, as a spreadsheet shows it
        "SKU,recieved,price,Price,,counted\n"
        f"{variant.sku},4,1,2,,-1\n"
    ).encode()

    errors = import_preview(data=data).errors

    assert [(e["row"], e["column"], e["message"].split(".")[0]) for e in errors] == [
        (2, "recieved", '"recieved" is not a column'),
        (2, "price", '"price" appears more than once; none of its cells are read'),
        (2, "column 5", "Column 5 has no name"),
        (3, "counted", "Counted cannot be negative"),
    ]
    assert "Did you mean received?" in errors[0]["message"]
    assert errors[0]["message"].endswith(
        f"The columns are: {', '.join(imports.COLUMNS)} (only sku is required)."
    )


def test_without_a_sku_column_the_cells_are_still_checked():
    errors = import_preview(data=b"product,received\nTee,-1\n,2\n").errors
    assert [(e["row"], e["column"]) for e in errors] == [(1, "sku"), (2, "received")]
    assert errors[0]["message"].startswith('The "sku" column is missing.')


def test_a_row_that_is_not_valid_csv_does_not_hide_the_errors_after_it(make_product):
    variant, other = make_product(stock={"S-M": 1, "L-XL": 1}).variants.order_by("pk")
    data = "\n".join(
        [
            "sku,product,received",
            f'{variant.sku},"Tee" shirt,1',  # a cell in quotes that goes on after them
            f"{variant.sku},,-2",
            'NEW-1,"Tee,3',  # a quote never closed
            f"{other.sku},,x",
        ]
    ).encode()

    preview = import_preview(data=data)

    assert [(e["row"], e["column"], e["message"][:30]) for e in preview.errors] == [
        (2, "product", "A cell in quotes ends at its c"),
        (3, "received", "Received cannot be negative."),
        (4, "product", 'This cell opens a quote (") th'),
        (5, "received", '"x" is not a whole number; rec'),
    ]
    assert preview.summary["rows"] == 4


def test_utf8_with_a_byte_order_mark_is_accepted():
    data = codecs.BOM_UTF8 + csv_bytes(new_row(product="Café Tee"))
    preview = import_preview(data=data)
    assert preview.errors == []
    assert preview.plan[0]["product"]["fields"]["name"] == "Café Tee"


def test_files_over_the_row_limit_are_refused(monkeypatch):
    data = ("sku\n" + "".join(f"S{n}\n" for n in range(imports.MAX_ROWS + 1))).encode()
    [error] = import_preview(data=data).errors
    assert error["message"] == "The file has more than 50,000 rows; split it into smaller files."


def test_files_over_the_size_limit_are_refused():
    data = b"sku\n" + b"A" * imports.MAX_BYTES
    [error] = import_preview(data=data).errors
    assert error["message"].startswith("The file is larger than 10 MB")


@pytest.mark.parametrize(
    ("cells", "column", "message"),
    [
        ({"received": "-3"}, "received", "Received cannot be negative."),
        ({"counted": "-1"}, "counted", "Counted cannot be negative."),
        ({"received": "3.5"}, "received", '"3.5" is not a whole number'),
        ({"counted": "ten"}, "counted", '"ten" is not a whole number'),
        ({"received": "1000001"}, "received", "Received is at most 1,000,000."),
        ({"received": "2", "counted": "4"}, "counted", "not both"),
        ({"category": "Hats"}, "category", '"Hats" is not a category; use one of: Tees'),
        ({"size": "XL"}, "size", '"XL" is not a size'),
        ({"price": "0"}, "price", "A price is more than 0"),
        ({"price": "abc"}, "price", '"abc" is not a price'),
        ({"price": "1.999"}, "price", "at most 2 decimal places"),
        ({"price": "-5"}, "price", "A price is more than 0"),
        ({"barcode": EAN13_WRONG_CHECK_DIGIT}, "barcode", "check digit is wrong"),
        ({"barcode": "12AB"}, "barcode", "A barcode is a GTIN"),
        ({"collection": "AW24"}, "collection", "Enter a season code"),
        ({"sku": "bad sku!"}, "sku", "A SKU is 1 to 64"),
        ({"product": "x" * 201}, "product", "At most 200 characters."),
        ({"product": ""}, "product", "SKU NEW-1 is new: give its product to create it."),
        ({"price": ""}, "price", "SKU NEW-1 is new: give its price to create it."),
    ],
)
def test_bad_cells_are_errors_of_their_row_and_column(cells, column, message):
    data = csv_bytes(new_row("OK-1", size="L-XL"), new_row(**cells))
    error = the_error(data)
    assert (error["row"], error["column"]) == (3, column)
    assert message in error["message"]


def test_a_row_with_the_wrong_number_of_cells_is_an_error_of_its_first_column_without_one():
    assert errors_of(csv_bytes("A,Tee", "B,Tee,Tees,Red,FW24,1,S-M,,,,extra")) == [
        (2, "category"),
        (3, "column 11"),
    ]
