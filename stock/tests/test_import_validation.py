"""Checking the rows against each other and the catalog: every error of a row is listed, with
its row and column, and a batch with errors is not applied."""

import pytest

from catalog import services
from catalog.models import ImportBatchStatus
from stock.imports import ImportRefused, import_apply, import_batch_create, import_preview
from stock.tests.import_support import (
    ACTOR,
    EAN13,
    csv_bytes,
    new_row,
    snapshot,
    the_error,
)

pytestmark = pytest.mark.django_db


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
