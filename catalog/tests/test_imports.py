"""The CSV import service: parsing, the preview, applying all or nothing and once, the ledger,
and the queries it costs."""

import codecs
from decimal import Decimal
from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog import imports, services
from catalog.exports import export_rows
from catalog.imports import ImportRefused, apply, import_apply, import_batch_create, import_preview
from catalog.imports.columns import Error
from catalog.models import ImportBatch, ImportBatchStatus, IssuedSku, Product, Variant
from catalog.tests.import_support import SAMPLE, walkthrough_catalog
from catalog.tests.support import race
from core.actors import system_actor, user_actor
from stock.models import StockMovement
from stock.services import StockChange, stock_apply

pytestmark = pytest.mark.django_db

HEADER = "sku,product,category,color,collection,price,size,barcode,received,counted"
EAN13 = "4006381333931"
EAN13_WRONG_CHECK_DIGIT = "4006381333932"
ACTOR = system_actor("test")


def csv_bytes(*lines: str, header: str = HEADER) -> bytes:
    return "\n".join([header, *lines]).encode()


def new_row(sku: str = "NEW-1", **cells: str) -> str:
    values = {
        "sku": sku,
        "product": "Linen Tee",
        "category": "Tees",
        "color": "Sand",
        "collection": "ss25",
        "price": "35.00",
        "size": "S-M",
        "barcode": "",
        "received": "",
        "counted": "",
        **cells,
    }
    return ",".join(values[column] for column in HEADER.split(","))


def snapshot():
    return (
        list(Product.objects.order_by("pk").values()),
        list(Variant.objects.order_by("pk").values()),
        list(StockMovement.objects.order_by("pk").values()),
        IssuedSku.objects.count(),
    )


def preview_and_store(data: bytes) -> ImportBatch:
    preview = import_preview(data=data)
    assert preview.errors == []
    return import_batch_create(preview=preview, filename="test.csv")


def errors_of(data: bytes) -> list[tuple[int | None, str]]:
    return [(e["row"], e["column"]) for e in import_preview(data=data).errors]


def the_error(data: bytes) -> Error:
    [error] = import_preview(data=data).errors
    return error


# The sample file and what an import does


def test_the_sample_file_applies_to_the_readme_walkthrough_catalog(admin_user):
    # Given the catalog of the README's walkthrough: the demo catalog and its Linen Tee.
    walkthrough_catalog()
    quantities = dict(Variant.objects.values_list("sku", "quantity"))
    before = snapshot()

    # When the sample is previewed
    preview = import_preview(data=SAMPLE.read_bytes())

    # Then it shows each kind of row, without an error and without a change
    assert preview.errors == []
    assert snapshot() == before
    assert preview.summary == {
        "rows": 10,
        "errors": 0,
        "products_created": 3,
        "products_changed": 0,
        "variants_created": 5,
        "variants_changed": 0,
        "rows_received": 8,
        "units_received": 60,
        "rows_counted": 2,
    }
    assert [imports.describe(entry) for entry in preview.plan[:5]] == [
        ["stock +12 received"],
        ["stock +6 received"],
        ["stock +4 received"],
        [f"stock counted to 15 (was {quantities['DEMO-010-SM']}, -1)"],
        [f"stock counted to 4 (was {quantities['DEMO-007-OS']}, +0)"],
    ]

    # And when it is applied
    batch = import_batch_create(preview=preview, filename="catalog_import.csv")
    import_apply(batch=batch, actor=user_actor(admin_user))

    # Then the demo SKUs got their delivery and counts, and the new products their sizes
    after = dict(Variant.objects.values_list("sku", "quantity"))
    assert {
        sku: after[sku] - quantities[sku] for sku in quantities if after[sku] != quantities[sku]
    } == {
        "DEMO-003-SM": 12,
        "DEMO-004-LXL": 6,
        "DEMO-006-LXL": 4,
        "DEMO-010-SM": -1,
    }
    sweater = Product.objects.get(name="Ribbed Wool Sweater")
    assert (sweater.category, sweater.color, sweater.collection, sweater.price) == (
        "Sweaters",
        "Camel",
        "FW25",
        Decimal("99.00"),
    )
    assert dict(sweater.variants.values_list("size", "quantity")) == {"S-M": 8, "L-XL": 5}
    assert Variant.objects.get(sku="PLT-SS26-PNT-SM").low_stock_threshold == 2  # the default
    assert Variant.objects.get(sku="HEN-SS26-TEE-OS").barcode is None
    movements = StockMovement.objects.filter(reference=f"import-{batch.pk}")
    assert {(m.variant.sku, m.reason, m.delta) for m in movements} == {
        ("DEMO-003-SM", "received", 12),
        ("DEMO-004-LXL", "received", 6),
        ("DEMO-006-LXL", "received", 4),
        ("DEMO-010-SM", "count_correction", -1),
        ("DEMO-007-OS", "count_correction", 0),
        ("RIB-FW25-SWT-SM", "initial", 8),
        ("RIB-FW25-SWT-LXL", "initial", 5),
        ("PLT-SS26-PNT-SM", "initial", 10),
        ("PLT-SS26-PNT-LXL", "initial", 6),
        ("HEN-SS26-TEE-OS", "initial", 9),
    }
    assert {(m.actor_kind, m.actor, m.user_id, m.note) for m in movements} == {
        ("user", admin_user.username, admin_user.pk, f"CSV import #{batch.pk} (catalog_import.csv)")
    }
    assert set(IssuedSku.objects.values_list("sku", flat=True)) == set(
        Variant.objects.values_list("sku", flat=True)
    )
    batch.refresh_from_db()
    assert (batch.status, batch.applied_by, batch.applied_actor) == (
        ImportBatchStatus.APPLIED,
        admin_user,
        admin_user.username,
    )
    call_command("reconcile_stock", stdout=StringIO())


def test_stock_of_known_skus_goes_through_the_stock_service(make_product, manager):
    product = make_product(stock={"S-M": 5, "L-XL": 3})
    small, large = product.variants.get(size="S-M"), product.variants.get(size="L-XL")
    data = csv_bytes(f"{small.sku},,,,,,,,12,", f"{large.sku},,,,,,,,,1", header=HEADER)
    batch = preview_and_store(data)
    assert [imports.describe(entry) for entry in batch.plan] == [
        ["stock +12 received"],
        ["stock counted to 1 (was 3, -2)"],
    ]

    import_apply(batch=batch, actor=user_actor(manager))

    small.refresh_from_db()
    large.refresh_from_db()
    assert (small.quantity, large.quantity) == (17, 1)
    counted, received = (
        StockMovement.objects.filter(reference=f"import-{batch.pk}").order_by("reason").all()
    )
    assert (counted.reason, counted.delta, counted.quantity_after) == ("count_correction", -2, 1)
    assert (received.reason, received.delta, received.quantity_after) == ("received", 12, 17)
    assert {received.user_id, counted.user_id} == {manager.pk}
    call_command("reconcile_stock", stdout=StringIO())


def test_a_minimal_delivery_file_has_only_sku_and_received(make_product):
    variant = make_product(stock={"S-M": 1}).variants.get()
    batch = preview_and_store(f"SKU;Received\n{variant.sku.lower()};4\n".encode())
    import_apply(batch=batch, actor=ACTOR)
    variant.refresh_from_db()
    assert variant.quantity == 5


def test_known_skus_change_their_product_and_variant_and_empty_cells_keep_values(make_product):
    product = make_product(name="Organic Cotton Tee", price="29.90", stock={"S-M": 2, "L-XL": 0})
    small = product.variants.get(size="S-M")
    header = "sku,product,price,barcode,low_stock_threshold,active"
    data = csv_bytes(f"{small.sku},Organic Cotton Tee,32.00,{EAN13},5,no", header=header)

    batch = preview_and_store(data)
    assert imports.describe(batch.plan[0]) == [
        "product changed: price 29.90 → 32.00, active yes → no",
        "variant changed: barcode (none) → 4006381333931, low-stock threshold 2 → 5",
    ]
    import_apply(batch=batch, actor=ACTOR)

    product.refresh_from_db()
    small.refresh_from_db()
    assert (product.name, product.price, product.is_active) == (
        "Organic Cotton Tee",
        Decimal("32.00"),
        False,
    )
    assert (small.barcode, small.low_stock_threshold, small.quantity) == (EAN13, 5, 2)
    assert not StockMovement.objects.filter(reference__startswith="import-").exists()


def test_a_new_sku_joins_the_product_with_the_same_name_color_and_collection(make_product):
    product = make_product(name="Linen Tee", color="Sand", collection="SS25", stock={"S-M": 1})
    data = csv_bytes(new_row("NEW-LXL", product="linen  tee", color="SAND", size="l-xl"))

    batch = preview_and_store(data)
    assert batch.summary["products_created"] == 0
    import_apply(batch=batch, actor=ACTOR)

    assert set(product.variants.values_list("size", flat=True)) == {"S-M", "L-XL"}
    assert Product.objects.count() == 1


def test_rows_of_a_new_product_create_it_once():
    data = csv_bytes(new_row("A-SM", size="S-M"), new_row("A-LXL", size="L-XL", received="3"))
    import_apply(batch=preview_and_store(data), actor=ACTOR)
    product = Product.objects.get()
    assert sorted(product.variants.values_list("sku", "quantity")) == [("A-LXL", 3), ("A-SM", 0)]


def test_an_export_imports_again_as_no_change(make_product):
    make_product(name="=HYPERLINK(evil)", color="-Black", stock={"S-M": 4, "L-XL": 0})
    make_product(name="Chino", category="Pants", collection="SS25", stock={"One Size": 2})
    rows = list(export_rows())
    assert rows[1][1] == "'=HYPERLINK(evil)"  # a spreadsheet does not run it
    data = "\n".join(",".join(f'"{cell}"' for cell in row) for row in rows).encode()

    preview = import_preview(data=data)

    assert preview.errors == []
    assert [imports.describe(entry) for entry in preview.plan] == [["no change"]] * 3


def test_the_summary_counts_what_the_import_does(make_product):
    # Given a product with one size, and another whose two SKUs the file knows
    linen = make_product(
        name="Linen Tee", color="Sand", collection="SS25", price="35.00", stock={"S-M": 1}
    )
    chino = make_product(
        name="Chino",
        category="Pants",
        color="Khaki",
        collection="SS25",
        stock={"S-M": 5, "L-XL": 2},
    )
    chino_sm, chino_lxl = chino.variants.order_by("pk")
    header = "sku,product,category,color,collection,price,size,barcode,received,counted"
    data = csv_bytes(
        # Two new sizes of the Linen Tee: no new product
        new_row("LIN-LXL", size="L-XL", received="3"),
        new_row("LIN-OS", size="One Size"),
        # A new product in three sizes, and another in two: two products
        new_row(
            "RIB-SM",
            product="Ribbed Sweater",
            category="Sweaters",
            color="Camel",
            collection="FW25",
            received="4",
        ),
        new_row(
            "RIB-LXL",
            product="Ribbed Sweater",
            category="Sweaters",
            color="Camel",
            collection="fw25",
            size="L-XL",
        ),
        new_row(
            "RIB-OS",
            product="Ribbed Sweater",
            category="Sweaters",
            color="Camel",
            collection="FW25",
            size="One Size",
        ),
        new_row(
            "TRS-SM", product="Wide Trouser", category="Pants", color="Stone", collection="SS26"
        ),
        new_row(
            "TRS-LXL",
            product="Wide Trouser",
            category="Pants",
            color="Stone",
            collection="SS26",
            size="L-XL",
            counted="2",
        ),
        # Known SKUs: a delivery, a count with a new price, a new barcode
        f"{chino_sm.sku},,,,,,,,5,",
        f"{chino_lxl.sku},,,,,80.00,,,,1",
        f"{linen.variants.get().sku},,,,,,,{EAN13},,",
        header=header,
    )
    products, variants = Product.objects.count(), Variant.objects.count()

    preview = import_preview(data=data)

    assert preview.errors == []
    assert preview.summary == {
        "rows": 10,
        "errors": 0,
        "products_created": 2,
        "products_changed": 1,
        "variants_created": 7,
        "variants_changed": 1,
        "rows_received": 3,
        "units_received": 12,
        "rows_counted": 2,
    }
    # And applying it does what the summary says
    batch = import_batch_create(preview=preview)
    assert import_apply(batch=batch, actor=ACTOR) == preview.summary
    assert Product.objects.count() - products == 2
    assert Variant.objects.count() - variants == 7
    assert sorted(linen.variants.values_list("size", flat=True)) == ["L-XL", "One Size", "S-M"]
    assert Product.objects.get(name="Ribbed Sweater").variants.count() == 3
    chino.refresh_from_db()
    assert chino.price == Decimal("80.00")


def test_comma_and_semicolon_files_with_the_same_content_preview_the_same(make_product):
    variant = make_product(stock={"S-M": 4}).variants.get()
    rows = [
        [
            "sku",
            "product",
            "category",
            "color",
            "collection",
            "price",
            "size",
            "received",
            "counted",
        ],
        ["NEW-SM", "Linen Tee", "Tees", "Sand", "SS25", "35.50", "S-M", "6", ""],
        ["NEW-LXL", "Linen Tee", "Tees", "Sand", "SS25", "35.50", "L-XL", "", "2"],
        [variant.sku, "", "", "", "", "", "", "12", ""],
        ["BAD", "Tee; striped", "Hats", "Red", "FW24", "9.90", "S-M", "", ""],
    ]
    comma = "\n".join(",".join(row) for row in rows).encode()
    # As a spreadsheet app in a locale with decimal commas saves it: semicolons, "35,50", a
    # byte-order mark, CRLF, cells with a semicolon in quotes, and empty rows at the end.
    semicolon = (
        codecs.BOM_UTF8
        + (
            "\r\n".join(
                ";".join(
                    f'"{cell}"' if ";" in cell else cell.replace("35.50", "35,50") for cell in row
                )
                for row in rows
            )
            + "\r\n;;;;;;;;\r\n;;;;;;;;\r\n"
        ).encode()
    )

    by_comma, by_semicolon = import_preview(data=comma), import_preview(data=semicolon)

    assert by_semicolon.summary == by_comma.summary
    assert by_comma.summary["rows"] == 4
    assert by_semicolon.errors == by_comma.errors
    assert [(e["row"], e["column"]) for e in by_comma.errors] == [(5, "category")]
    assert by_semicolon.plan == by_comma.plan
    assert by_semicolon.content_hash == by_comma.content_hash


def test_the_row_count_counts_the_rows_with_errors_too():
    data = csv_bytes(
        new_row("A"), new_row("B", size="L-XL", price="oops"), "C,Tee", "", new_row("")
    )
    assert import_preview(data=data).summary["rows"] == 4


def test_a_price_with_a_decimal_comma_is_read_only_as_such():
    assert (
        import_preview(data=csv_bytes(new_row(price='"29,9"'))).plan[0]["product"]["fields"][
            "price"
        ]
        == "29.90"
    )
    assert errors_of(csv_bytes(new_row(price='"1,500"'))) == [(2, "price")]


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


def test_every_error_of_a_row_is_listed_with_the_catalog_checks(make_product):
    taken = make_product(name="Other", stock={"S-M": 0}, barcode=EAN13).variants.get()
    linen = make_product(name="Linen Tee", color="Sand", collection="SS25", stock={"S-M": 1})
    # One row: a wrong price, a barcode that is taken and a size the product has: all three.
    data = csv_bytes(new_row("NEW-SM", price="12.345", barcode=EAN13), new_row(""))

    errors = import_preview(data=data).errors

    assert [(e["row"], e["column"], e["message"]) for e in errors] == [
        (2, "price", "A price has at most 2 decimal places."),
        (2, "size", f"This product has size S-M already, as SKU {linen.variants.get().sku}."),
        (2, "barcode", f"Barcode {EAN13} belongs to SKU {taken.sku} already."),
        (3, "sku", "This row has no SKU; every row needs one."),
    ]


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


def test_duplicate_skus_and_barcodes_in_the_file_are_errors():
    data = csv_bytes(
        new_row("DUP", size="S-M", barcode=EAN13),
        new_row("dup", size="L-XL"),
        new_row("OTHER", size="One Size", barcode=EAN13),
    )
    errors = import_preview(data=data).errors
    assert [(e["row"], e["column"], e["message"]) for e in errors] == [
        (3, "sku", "SKU DUP is on row 2 already."),
        (4, "barcode", "Row 2 has this barcode too."),
    ]


def test_conflicts_with_the_catalog_are_errors(make_product):
    product = make_product(name="Linen Tee", color="Sand", collection="SS25", stock={"S-M": 1})
    taken = make_product(name="Other", stock={"S-M": 0}, barcode=EAN13).variants.get()
    deleted = make_product(name="Gone", stock={"S-M": 0}).variants.get()
    services.variant_delete(variant=deleted)
    known = product.variants.get()
    data = csv_bytes(
        new_row("NEW-SM", size="S-M"),  # Linen Tee has S-M already
        new_row(deleted.sku, size="L-XL"),  # a deleted variant's SKU
        new_row("NEW-OS", size="One Size", barcode=EAN13),  # another variant's barcode
        f"{known.sku},,,,,,L-XL,,,",  # a size never changes
    )
    errors = import_preview(data=data).errors
    assert [(e["row"], e["column"], e["message"]) for e in errors] == [
        (2, "size", f"This product has size S-M already, as SKU {known.sku}."),
        (3, "sku", f"SKU {deleted.sku} was used by a deleted variant; SKUs are never reused."),
        (4, "barcode", f"Barcode {EAN13} belongs to SKU {taken.sku} already."),
        (5, "size", f"SKU {known.sku} is size S-M; a variant's size never changes."),
    ]


def test_a_new_sku_misses_the_columns_the_file_lacks_in_one_error():
    errors = import_preview(data=b"sku,product,received\nNEW-1,,3\n").errors
    assert [(e["row"], e["column"], e["message"]) for e in errors] == [
        (
            2,
            "sku",
            "SKU NEW-1 is not in the catalog; to create it, the file needs columns for its "
            "category, color, collection, price, size.",
        ),
        (2, "product", "SKU NEW-1 is new: give its product to create it."),
    ]


def test_rows_of_one_product_must_agree():
    data = csv_bytes(new_row("A", size="S-M"), new_row("B", size="L-XL", category="Pants"))
    # The key (name, color, collection) is the same, so they are one product.
    error = the_error(data)
    assert (error["row"], error["column"]) == (3, "category")
    assert error["message"] == "Row 2 gives this product the category Tees; this row gives Pants."


def test_two_rows_may_not_add_the_same_size_to_a_product():
    data = csv_bytes(new_row("A"), new_row("B"))
    assert the_error(data)["message"] == "Row 2 adds this size already."


def test_a_batch_with_errors_cannot_be_applied():
    preview = import_preview(data=csv_bytes(new_row(received="-1")))
    batch = import_batch_create(preview=preview)
    assert batch.status == ImportBatchStatus.INVALID
    before = snapshot()
    with pytest.raises(ImportRefused, match="has errors"):
        import_apply(batch=batch, actor=ACTOR)
    assert snapshot() == before


# Applying: once, all or nothing, only as previewed


def test_a_batch_is_applied_once_only():
    batch = preview_and_store(csv_bytes(new_row(received="2")))
    import_apply(batch=batch, actor=ACTOR)
    after = snapshot()
    with pytest.raises(ImportRefused, match="applied already"):
        import_apply(batch=ImportBatch.objects.get(pk=batch.pk), actor=ACTOR)
    with pytest.raises(ImportRefused, match="applied already"):
        import_apply(batch=batch, actor=ACTOR)  # a stale copy too: the database decides
    assert snapshot() == after


def test_a_sku_taken_since_the_preview_refuses_the_whole_import(make_product):
    batch = preview_and_store(csv_bytes(new_row("A", received="1"), new_row("B", size="L-XL")))
    other = make_product(name="Linen Tee", color="Sand", collection="SS25", stock={})
    services.variant_create(product=other, size="S-M", sku="B", actor=ACTOR)
    before = snapshot()

    with pytest.raises(ImportRefused) as refused:
        import_apply(batch=batch, actor=ACTOR)

    assert snapshot() == before
    assert sorted(refused.value.details["rows"]) == [
        "row 2, size: This product has size S-M already, as SKU B.",
        "row 3, size: SKU B is size S-M; a variant's size never changes.",
    ]
    batch.refresh_from_db()
    assert batch.status == ImportBatchStatus.PREVIEWED  # may be previewed again, not applied


def test_a_count_refused_when_the_quantity_moved_since_the_preview(make_product):
    variant = make_product(stock={"S-M": 5}).variants.get()
    batch = preview_and_store(csv_bytes(f"{variant.sku},,,,,,,,,4"))
    stock_apply(changes=[StockChange(variant_id=variant.pk, delta=-1)], reason="sale", actor=ACTOR)
    before = snapshot()

    with pytest.raises(ImportRefused) as refused:
        import_apply(batch=batch, actor=ACTOR)

    assert snapshot() == before
    assert refused.value.details["rows"] == [
        f"row 2 (SKU {variant.sku}): the preview said stock counted to 4 (was 5, -1), now it "
        "would be stock counted to 4 (was 4, +0)."
    ]


def test_a_delivery_still_applies_after_a_sale(make_product):
    variant = make_product(stock={"S-M": 5}).variants.get()
    batch = preview_and_store(csv_bytes(f"{variant.sku},,,,,,,,3,"))
    stock_apply(changes=[StockChange(variant_id=variant.pk, delta=-1)], reason="sale", actor=ACTOR)
    import_apply(batch=batch, actor=ACTOR)
    variant.refresh_from_db()
    assert variant.quantity == 7


def test_a_failure_while_writing_changes_nothing(make_product, monkeypatch):
    variant = make_product(stock={"S-M": 5}).variants.get()
    batch = preview_and_store(csv_bytes(new_row("NEW", received="2"), f"{variant.sku},,,,,,,,3,"))
    before = snapshot()

    def broken(**kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(apply, "stock_apply", broken)
    with pytest.raises(RuntimeError):
        import_apply(batch=batch, actor=ACTOR)

    assert snapshot() == before
    batch.refresh_from_db()
    assert batch.status == ImportBatchStatus.PREVIEWED


# Queries: a fixed number, however many rows


def _rows(count: int, *, start: int = 0) -> bytes:
    sizes = ["S-M", "L-XL"]
    return csv_bytes(
        *(
            new_row(f"Q{n}", product=f"Tee {n // 2}", size=sizes[n % 2], received=str(n % 3 + 1))
            for n in range(start, start + count)
        )
    )


def _counts(data: bytes) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as preview_queries:
        preview = import_preview(data=data)
        batch = import_batch_create(preview=preview)
    with CaptureQueriesContext(connection) as apply_queries:
        import_apply(batch=ImportBatch.objects.get(pk=batch.pk), actor=ACTOR)
    return len(preview_queries), len(apply_queries)


def test_queries_do_not_grow_with_rows(make_product):
    small = _counts(_rows(4))
    large = _counts(_rows(40, start=100))
    assert small == large
    # And for known SKUs: received stock and a changed price.
    known = Variant.objects.filter(sku__startswith="Q1").values_list("sku", flat=True)
    lines = [f"{sku},,,,,31.00,,,2," for sku in known]
    header = HEADER
    assert _counts(csv_bytes(*lines[:4], header=header)) == _counts(
        csv_bytes(*lines[4:], header=header)
    )
    call_command("reconcile_stock", stdout=StringIO())


def test_the_numbers_of_queries_are_pinned(django_assert_num_queries):
    # Preview: the file's variants by SKU, the products of its collections, the SKUs issued
    # before, and the batch's INSERT.
    with django_assert_num_queries(4):
        batch = import_batch_create(preview=import_preview(data=_rows(6)))
    batch = ImportBatch.objects.get(pk=batch.pk)
    # Apply: savepoint, the imports of the same content applied before, savepoint, the claim,
    # release, the same three reads (locking), savepoint, products, SKUs, variants and opening
    # movements inserted, both savepoints released.
    with django_assert_num_queries(15):
        import_apply(batch=batch, actor=ACTOR)


# Concurrency (PostgreSQL)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_concurrent_applies_apply_once():
    batch = preview_and_store(csv_bytes(new_row(received="2")))

    outcomes = race([lambda: import_apply(batch=batch, actor=ACTOR)] * 2)

    assert sorted(type(outcome).__name__ for outcome in outcomes) == ["ImportRefused", "dict"]
    assert Variant.objects.get(sku="NEW-1").quantity == 2
    assert StockMovement.objects.count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_an_import_and_concurrent_sales_keep_the_ledger(make_product):
    variants = [make_product(name=f"P{n}", stock={"S-M": 50}).variants.get() for n in range(5)]
    batch = preview_and_store(csv_bytes(*(f"{v.sku},,,,,,,,10," for v in variants)))

    def sell():
        for variant in reversed(variants):
            stock_apply(
                changes=[StockChange(variant_id=variant.pk, delta=-1)], reason="sale", actor=ACTOR
            )

    outcomes = race([lambda: import_apply(batch=batch, actor=ACTOR), sell, sell])

    assert not [o for o in outcomes if isinstance(o, Exception)]
    assert sorted(Variant.objects.values_list("quantity", flat=True)) == [58] * 5
    call_command("reconcile_stock", stdout=StringIO())


def test_the_actor_may_be_any_user(db):
    user = User.objects.create_user("clerk2", is_staff=True)
    batch = preview_and_store(csv_bytes(new_row(counted="3")))
    import_apply(batch=batch, actor=user_actor(user))
    movement = StockMovement.objects.get()
    assert (movement.reason, movement.actor, movement.user) == ("initial", "clerk2", user)
