"""What an import does: the sample file, the plan and summary a preview shows for each kind of
row, and what applying it changes."""

import codecs
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command

from catalog.models import ImportBatchStatus, IssuedSku, Product, Variant
from core.actors import user_actor
from stock import imports
from stock.exports import export_rows
from stock.imports import import_apply, import_batch_create, import_preview
from stock.models import StockMovement
from stock.tests.import_support import (
    ACTOR,
    EAN13,
    HEADER,
    SAMPLE,
    csv_bytes,
    errors_of,
    new_row,
    preview_and_store,
    snapshot,
    walkthrough_catalog,
)

pytestmark = pytest.mark.django_db


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
        ["stock +12 received at MAIN"],
        ["stock +6 received at MAIN"],
        ["stock +4 received at MAIN"],
        [f"stock counted to 15 at MAIN (was {quantities['DEMO-010-SM']}, -1)"],
        [f"stock counted to 4 at MAIN (was {quantities['DEMO-007-OS']}, +0)"],
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
        ["stock +12 received at MAIN"],
        ["stock counted to 1 at MAIN (was 3, -2)"],
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
