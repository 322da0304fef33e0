"""The stock's commands: reconcile_stock proves the ledger, low_stock lists what to reorder."""

import csv
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from catalog.models import Variant
from core.actors import Actor
from stock.locations import location_create
from stock.models import StockLevel
from stock.services import stock_adjust

pytestmark = pytest.mark.django_db

CLERK = Actor(kind="system", name="clerk")


def test_reconcile_stock_passes_when_every_quantity_matches_its_ledger(make_product):
    product = make_product(stock={"S-M": 4, "L-XL": 0})
    stock_adjust(
        variant_id=product.variants.get(size="L-XL").pk, delta=3, reason="received", actor=CLERK
    )
    out = StringIO()
    call_command("reconcile_stock", stdout=out)
    # S-M's opening level and L-XL's, made by the delivery.
    assert (
        out.getvalue().strip()
        == "OK: 2 variant(s) at 2 stock level(s), every quantity equals its ledger."
    )


def test_reconcile_stock_reports_drift_and_exits_non_zero(make_product):
    product = make_product(stock={"S-M": 4, "L-XL": 2})
    drifted = product.variants.get(size="S-M")
    # A write that goes around the stock service (raw SQL, a careless script).
    Variant.objects.filter(pk=drifted.pk).update(quantity=9)
    err = StringIO()
    with pytest.raises(CommandError, match=r"^1 drift\(s\) from the ledger\.$"):
        call_command("reconcile_stock", stdout=StringIO(), stderr=err)
    assert err.getvalue() == (
        f"DRIFT {drifted.sku}: available 9, committed 0; "
        "its movements add up to 4 available, 0 committed\n"
    )


def test_reconcile_stock_reports_a_level_that_drifted_from_its_movements(make_product):
    product = make_product(stock={"S-M": 4, "L-XL": 2})
    drifted = product.variants.get(size="L-XL")
    StockLevel.objects.filter(variant=drifted).update(on_hand=5, committed=1)
    err = StringIO()
    with pytest.raises(
        CommandError,
        match=r"^1 drift\(s\) from the ledger; 1 level\(s\) whose committed units are not the open orders'\.$",
    ):
        call_command("reconcile_stock", stdout=StringIO(), stderr=err)
    assert err.getvalue() == (
        f"DRIFT {drifted.sku} at MAIN: on hand 5, movements add up to 2; "
        "committed 1, movements add up to 0\n"
        f"MISMATCH {drifted.sku} at MAIN: committed 1, open orders hold 0\n"
    )


def _low_stock(*args: str) -> list[list[str]]:
    out = StringIO()
    call_command("low_stock", "--csv", *args, stdout=out)
    return list(csv.reader(StringIO(out.getvalue())))


def test_low_stock_lists_variants_at_or_below_their_threshold(make_product):
    product = make_product(name="Tee", stock={"S-M": 2, "L-XL": 3, "One Size": 0})
    make_product(name="Archived", stock={"S-M": 0}, is_active=False)
    small, never = (product.variants.get(size=size) for size in ("S-M", "One Size"))

    rows = _low_stock()

    assert rows == [
        [
            "sku",
            "product",
            "color",
            "size",
            "location",
            "on_hand",
            "committed",
            "available",
            "low_stock_threshold",
        ],
        # Never stocked: shown at the default location.
        [never.sku, "Tee", "Black", "One Size", "MAIN", "0", "0", "0", "2"],
        [small.sku, "Tee", "Black", "S-M", "MAIN", "2", "0", "2", "2"],
    ]
    text = StringIO()
    call_command("low_stock", stdout=text)
    assert "2 variant(s) and location(s) low on stock." in text.getvalue()
    assert f"{small.sku:<24} {'Tee (Black)':<32} {'S-M':<9} {'MAIN':<16} {2:>5} {2:>5}" in (
        text.getvalue()
    )


def test_low_stock_is_per_location_and_counts_committed_units_out(make_product, place_order):
    store = location_create(code="STORE-01", name="High Street", kind="store")
    location_create(code="OLD", name="Old shop", kind="store", is_active=False)
    product = make_product(name="Tee", stock={"S-M": 9, "L-XL": 3})
    small, large = product.variants.get(size="S-M"), product.variants.get(size="L-XL")
    # S-M: 9 at MAIN (not low), 1 at STORE-01 (low). L-XL: 3 at MAIN, 2 committed: 1 left.
    stock_adjust(variant_id=small.pk, delta=1, reason="received", actor=CLERK, location=store)
    place_order((large, 2))

    everywhere = _low_stock()
    at_store = _low_stock("--location", "store-01")
    at_main = _low_stock("--location", "MAIN")

    assert everywhere[1:] == [
        [large.sku, "Tee", "Black", "L-XL", "MAIN", "3", "2", "1", "2"],
        [small.sku, "Tee", "Black", "S-M", "STORE-01", "1", "0", "1", "2"],
    ]
    assert at_main[1:] == [everywhere[1]]
    assert at_store[1:] == [everywhere[2]]


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("NOWHERE", "No location with code 'NOWHERE'."),
        ("OLD", "OLD is archived and holds no stock."),
    ],
)
def test_low_stock_refuses_an_unknown_or_archived_location(db, code, message):
    location_create(code="OLD", name="Old shop", kind="store", is_active=False)

    with pytest.raises(CommandError) as refused:
        call_command("low_stock", "--location", code, stdout=StringIO())

    assert str(refused.value) == message
