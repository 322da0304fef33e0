"""The CSV files' location column: a row's quantities are at its location (the default one when
the column or the cell is empty); an unknown or archived location is the row's error and nothing
is applied; the export writes a row per variant and location, and imports again as no change."""

import csv
from collections.abc import Callable
from io import StringIO

import pytest
from django.core.management import call_command

from catalog.models import ImportBatchStatus, Product, Variant
from conftest import TEST_ACTOR, PlaceOrder
from stock import imports
from stock import services as stock_services
from stock.exports import export_rows
from stock.imports import import_apply, import_batch_create, import_preview
from stock.imports.preview import content_hash
from stock.locations import location_create
from stock.models import Location, StockLevel, StockMovement
from stock.selectors import location_default
from stock.tests.import_support import (
    ACTOR,
    csv_bytes,
    new_row,
    preview_and_store,
    snapshot,
)

pytestmark = pytest.mark.django_db

HEADER = "sku,location,received,counted"


@pytest.fixture
def store() -> Location:
    return location_create(code="STORE-01", name="High Street", kind="store")


@pytest.fixture
def tee(make_product: Callable[..., Product]) -> Product:
    """S-M: 5 at MAIN; L-XL: none anywhere."""
    return make_product(stock={"S-M": 5, "L-XL": 0})


@pytest.fixture
def small(tee: Product) -> Variant:
    return tee.variants.get(size="S-M")


def _levels() -> dict[tuple[str, str], tuple[int, int]]:
    return {
        (sku, code): (on_hand, committed)
        for sku, code, on_hand, committed in StockLevel.objects.values_list(
            "variant__sku", "location__code", "on_hand", "committed"
        )
    }


def _errors(data: bytes) -> list[tuple[int | None, str, str]]:
    return [(e["row"], e["column"], e["message"]) for e in import_preview(data=data).errors]


def test_a_rows_quantities_are_at_its_location(small, store):
    data = csv_bytes(
        f"{small.sku},store-01,4,", f"{small.sku},MAIN,,3", f"{small.sku},,,", header=HEADER
    )
    # The third row names no location: the default, where the second row is already.
    assert _errors(data) == [(4, "sku", f"SKU {small.sku} is on row 3 already.")]

    batch = preview_and_store(
        csv_bytes(f"{small.sku},store-01,4,", f"{small.sku},MAIN,,3", header=HEADER)
    )
    assert [entry["stock"] for entry in batch.plan] == [
        {"received": 4, "location": "STORE-01"},
        {"counted": 3, "from": 5, "location": "MAIN"},
    ]
    assert [imports.describe(entry) for entry in batch.plan] == [
        ["stock +4 received at STORE-01"],
        ["stock counted to 3 at MAIN (was 5, -2)"],
    ]

    import_apply(batch=batch, actor=ACTOR)

    assert _levels() == {(small.sku, "MAIN"): (3, 0), (small.sku, "STORE-01"): (4, 0)}
    small.refresh_from_db()
    assert small.quantity == 7
    movements = StockMovement.objects.filter(reference=f"import-{batch.pk}").order_by("id")
    assert [(m.location.code, m.reason, m.delta, m.quantity_after) for m in movements] == [
        ("STORE-01", "received", 4, 4),
        ("MAIN", "count_correction", -2, 3),
    ]
    call_command("reconcile_stock", stdout=StringIO())


@pytest.mark.parametrize(
    ("header", "line"),
    [
        pytest.param("sku,received", "{sku},2", id="no location column"),
        pytest.param("sku,location,received", "{sku},,2", id="empty cell"),
    ],
)
def test_a_row_without_a_location_is_at_the_default(small, store, header, line):
    batch = preview_and_store(csv_bytes(line.format(sku=small.sku), header=header))

    assert batch.plan[0]["stock"] == {"received": 2, "location": "MAIN"}
    import_apply(batch=batch, actor=ACTOR)
    assert _levels() == {(small.sku, "MAIN"): (7, 0)}


def test_an_unknown_or_archived_location_is_a_row_error_and_nothing_is_applied(small, store):
    location_create(code="OLD", name="Old shop", kind="store", is_active=False)
    data = csv_bytes(
        f"{small.sku},STORE-01,1,",
        f"{small.sku},NOWHERE,2,",
        f"{small.sku},old,3,",
        header=HEADER,
    )
    before = snapshot()

    preview = import_preview(data=data)
    batch = import_batch_create(preview=preview)

    assert [(e["row"], e["column"], e["message"]) for e in preview.errors] == [
        (3, "location", "No location with code NOWHERE; use one of: MAIN, STORE-01."),
        (4, "location", "OLD is archived and holds no stock."),
    ]
    assert batch.status == ImportBatchStatus.INVALID
    with pytest.raises(imports.ImportRefused):
        import_apply(batch=batch, actor=ACTOR)
    assert snapshot() == before


def test_a_known_sku_has_a_row_per_location_whose_changes_agree(small, store):
    header = "sku,location,barcode,low_stock_threshold,received"
    data = csv_bytes(
        f"{small.sku},MAIN,4006381333931,,1",
        f"{small.sku},STORE-01,4006381333931,4,2",
        header=header,
    )
    preview = import_preview(data=data)

    assert preview.errors == []
    assert preview.summary["variants_changed"] == 1
    assert [imports.describe(entry) for entry in preview.plan] == [
        [
            "variant changed: barcode (none) → 4006381333931, low-stock threshold 2 → 4",
            "stock +1 received at MAIN",
        ],
        ["stock +2 received at STORE-01"],
    ]
    import_apply(batch=import_batch_create(preview=preview), actor=ACTOR)
    small.refresh_from_db()
    assert (small.barcode, small.low_stock_threshold, small.quantity) == ("4006381333931", 4, 8)

    disagreeing = csv_bytes(f"{small.sku},MAIN,,5,", f"{small.sku},STORE-01,,6,", header=header)
    assert _errors(disagreeing) == [
        (
            3,
            "low_stock_threshold",
            f"Row 2 gives SKU {small.sku} the low-stock threshold 5; this row gives 6.",
        )
    ]


def test_a_new_sku_is_created_on_one_row_with_its_opening_stock_there(store):
    header = "sku,product,category,color,collection,price,size,barcode,location,received,counted"
    line = new_row(received="3").split(",")
    row = ",".join([*line[:8], "STORE-01", *line[8:]])

    twice = csv_bytes(row, ",".join([*line[:8], "MAIN", *line[8:]]), header=header)
    assert _errors(twice) == [
        (
            3,
            "sku",
            "SKU NEW-1 is new: row 2 creates it, with its stock there. Stock at other locations "
            "can follow in another file, once it exists.",
        )
    ]

    batch = preview_and_store(csv_bytes(row, header=header))
    assert imports.describe(batch.plan[0])[-1] == "opening stock 3 at STORE-01 (received)"
    import_apply(batch=batch, actor=ACTOR)
    assert _levels() == {("NEW-1", "STORE-01"): (3, 0)}
    [opening] = StockMovement.objects.filter(variant__sku="NEW-1")
    assert (opening.location.code, opening.reason, opening.delta) == ("STORE-01", "initial", 3)
    call_command("reconcile_stock", stdout=StringIO())


def test_a_count_below_the_units_committed_there_is_a_row_error(small, place_order: PlaceOrder):
    place_order((small, 2))  # at MAIN

    assert _errors(csv_bytes(f"{small.sku},MAIN,,1", header=HEADER)) == [
        (
            2,
            "counted",
            "2 units at MAIN are committed to open orders: a count below that needs some of "
            "them cancelled first.",
        )
    ]
    # The count measures the shelf: the committed units are on it.
    batch = preview_and_store(csv_bytes(f"{small.sku},MAIN,,4", header=HEADER))
    assert batch.plan[0]["stock"] == {"counted": 4, "from": 5, "location": "MAIN"}


def test_a_plan_stored_before_there_were_locations_applies_at_the_default(small, store):
    batch = preview_and_store(csv_bytes(f"{small.sku},2", header="sku,received"))
    # As batches were kept before: no location in the rows nor in the plan.
    for row in batch.rows:
        row.pop("location")
    for entry in batch.plan:
        entry["stock"].pop("location")
    batch.save(update_fields=["rows", "plan"])

    import_apply(batch=batch, actor=ACTOR)

    assert _levels() == {(small.sku, "MAIN"): (7, 0)}


def test_a_file_keeps_its_fingerprint_unless_a_row_names_a_location(small):
    def fingerprint(data: bytes) -> str:
        return content_hash(import_preview(data=data).rows)

    without = fingerprint(csv_bytes(f"{small.sku},2", header="sku,received"))

    assert fingerprint(csv_bytes(f"{small.sku},,2", header="sku,location,received")) == without
    assert fingerprint(csv_bytes(f"{small.sku},MAIN,2", header="sku,location,received")) != without


def test_the_export_writes_a_row_per_variant_and_location_and_imports_again_as_no_change(
    tee, small, store, place_order: PlaceOrder
):
    old = location_create(code="OLD", name="Old shop", kind="store")
    stock_services.stock_adjust(
        variant_id=small.pk, delta=2, reason="received", actor=TEST_ACTOR, location=store
    )
    stock_services.stock_adjust(
        variant_id=small.pk, delta=1, reason="received", actor=TEST_ACTOR, location=old
    )
    stock_services.stock_adjust(
        variant_id=small.pk, delta=-1, reason="lost", actor=TEST_ACTOR, location=old
    )
    Location.objects.filter(pk=old.pk).update(is_active=False)  # empty, so archived
    place_order((small, 1))  # committed units are on hand: the export shows them
    large = tee.variants.get(size="L-XL")

    rows = list(export_rows())
    body = StringIO()
    csv.writer(body).writerows(rows)

    columns = rows[0]
    assert [
        (row[0], row[columns.index("location")], row[columns.index("on_hand")]) for row in rows[1:]
    ] == [
        (small.sku, "MAIN", "5"),
        (small.sku, "STORE-01", "2"),
        (large.sku, "MAIN", "0"),  # never stocked: a row at the default
    ]
    preview = import_preview(data=body.getvalue().encode())
    assert preview.errors == []
    assert preview.summary == {
        "rows": 3,
        "errors": 0,
        "products_created": 0,
        "products_changed": 0,
        "variants_created": 0,
        "variants_changed": 0,
        "rows_received": 0,
        "units_received": 0,
        "rows_counted": 0,
    }


def test_a_count_at_a_location_with_an_open_count_session_is_refused(small, store):
    from stock.counts import count_start
    from stock.imports.exceptions import ImportRefused

    session = count_start(location=location_default(), actor=ACTOR)
    batch = preview_and_store(csv_bytes(f"{small.sku},MAIN,,4", header=HEADER))
    received = preview_and_store(csv_bytes(f"{small.sku},MAIN,2,", header=HEADER))
    before = snapshot()

    with pytest.raises(ImportRefused) as refused:
        import_apply(batch=batch, actor=ACTOR)

    assert refused.value.message.startswith(f"A count session (COUNT-{session.pk}) is open at MAIN")
    assert refused.value.details == {"location": "MAIN", "count": session.pk}
    assert snapshot() == before
    batch.refresh_from_db()
    assert batch.status == ImportBatchStatus.PREVIEWED
    # A delivery there is no count: it goes in, and the session takes it as any sale or
    # delivery during a count.
    import_apply(batch=received, actor=ACTOR)
    assert _levels() == {(small.sku, "MAIN"): (7, 0)}
