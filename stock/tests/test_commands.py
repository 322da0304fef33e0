"""The stock's commands: reconcile_stock proves the ledger, low_stock lists what to reorder."""

import csv
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from catalog.models import Variant
from core.actors import Actor
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
    with pytest.raises(CommandError, match=r"^1 drift\(s\) from the ledger\.$"):
        call_command("reconcile_stock", stdout=StringIO(), stderr=err)
    assert err.getvalue() == (
        f"DRIFT {drifted.sku} at MAIN: on hand 5, movements add up to 2; "
        "committed 1, movements add up to 0\n"
    )


def test_low_stock_lists_variants_at_or_below_their_threshold(make_product):
    product = make_product(name="Tee", stock={"S-M": 2, "L-XL": 3, "One Size": 0})
    make_product(name="Archived", stock={"S-M": 0}, is_active=False)
    out = StringIO()
    call_command("low_stock", "--csv", stdout=out)
    rows = list(csv.reader(StringIO(out.getvalue())))
    assert rows[0] == ["sku", "product", "color", "size", "quantity", "low_stock_threshold"]
    skus = {product.variants.get(size=s).sku for s in ("S-M", "One Size")}
    assert {row[0] for row in rows[1:]} == skus
    assert [row[4] for row in rows[1:]] == ["0", "2"]

    text = StringIO()
    call_command("low_stock", stdout=text)
    assert "2 variant(s) low on stock." in text.getvalue()
