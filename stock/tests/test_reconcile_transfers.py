"""reconcile_stock with transfers: each level's incoming units against its movements and
against what the transfers in transit still carry there, and the conservation of units (each
transfer's movements of a variant add up to zero over on hand and incoming)."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db.models import F

from catalog.models import Variant
from core.actors import Actor
from stock.ledger import stock_movement
from stock.models import (
    Location,
    LocationKind,
    MovementReason,
    StockLevel,
    TransferLine,
)
from stock.selectors import location_default
from stock.transfers import (
    ReceiptLine,
    TransferLineRequest,
    transfer_cancel,
    transfer_close,
    transfer_create,
    transfer_receive,
    transfer_ship,
)

pytestmark = pytest.mark.django_db

CLERK = Actor(kind="system", name="clerk")


@pytest.fixture
def shops(make_product):
    """MAIN, two shops and a tee in two sizes (8 S-M, 6 L-XL at MAIN), after a transfer of
    every kind: received in full, closed short, cancelled in transit, cancelled as a draft,
    and one still in transit to STORE-02 (2 of its 3 S-M received)."""
    main = location_default()
    one = Location.objects.create(code="STORE-01", name="One", kind=LocationKind.STORE)
    two = Location.objects.create(code="STORE-02", name="Two", kind=LocationKind.STORE)
    tee = make_product(name="Tee", stock={"S-M": 8, "L-XL": 6})
    small, large = tee.variants.get(size="S-M"), tee.variants.get(size="L-XL")

    def transfer(source, destination, *lines):
        return transfer_create(
            from_location=source,
            to_location=destination,
            lines=[TransferLineRequest(variant_id=v.pk, quantity=q) for v, q in lines],
            actor=CLERK,
        )

    def receive(made, *quantities):
        lines = list(made.lines.order_by("id"))
        transfer_receive(
            transfer_id=made.pk,
            lines=[ReceiptLine(line.pk, q) for line, q in zip(lines, quantities, strict=True) if q],
            actor=CLERK,
        )

    full = transfer(main, one, (small, 2), (large, 1))
    transfer_ship(transfer_id=full.pk, actor=CLERK)
    receive(full, 2, 1)
    short = transfer(main, one, (small, 1), (large, 2))
    transfer_ship(transfer_id=short.pk, actor=CLERK)
    receive(short, 0, 1)
    transfer_close(transfer_id=short.pk, actor=CLERK)
    back = transfer(one, two, (small, 1))
    transfer_ship(transfer_id=back.pk, actor=CLERK)
    transfer_cancel(transfer_id=back.pk, actor=CLERK)
    transfer_cancel(transfer_id=transfer(main, two, (large, 1)).pk, actor=CLERK)
    open_ = transfer(main, two, (small, 3), (large, 1))
    transfer_ship(transfer_id=open_.pk, actor=CLERK)
    receive(open_, 2, 0)
    return {"small": small, "large": large, "one": one, "two": two, "open": open_}


def _reconcile() -> tuple[str, str, str | None]:
    out, err = StringIO(), StringIO()
    try:
        call_command("reconcile_stock", stdout=out, stderr=err)
    except CommandError as error:
        return out.getvalue(), err.getvalue(), str(error)
    return out.getvalue(), err.getvalue(), None


def _incoming(variant, location):
    return StockLevel.objects.get(variant=variant, location=location).incoming


def test_a_whole_life_of_transfers_reconciles(shops, django_assert_num_queries):
    # Given units in transit to STORE-02 only: 1 S-M and 1 L-XL
    assert _incoming(shops["small"], shops["two"]) == 1
    assert _incoming(shops["large"], shops["two"]) == 1
    assert sum(StockLevel.objects.values_list("incoming", flat=True)) == 2

    # When it reconciles: the levels' and variants' drift, the open orders, the committed
    # levels, the transfers in transit, the incoming levels, the transfers' balance, counts
    with django_assert_num_queries(11):
        out, err, error = _reconcile()

    assert (err, error) == ("", None)
    assert out.startswith("OK: 2 variant(s) at ")


def test_a_level_s_incoming_changed_behind_the_services_back_is_drift_and_mismatch(shops):
    StockLevel.objects.filter(variant=shops["small"], location=shops["one"]).update(incoming=4)

    out, err, error = _reconcile()

    sku = shops["small"].sku
    level = StockLevel.objects.get(variant=shops["small"], location=shops["one"])
    assert out == ""
    assert err.splitlines() == [
        f"DRIFT {sku} at STORE-01: on hand {level.on_hand}, movements add up to "
        f"{level.on_hand}; committed 0, movements add up to 0; incoming 4, movements add up to 0",
        f"MISMATCH {sku} at STORE-01: incoming 4, transfers in transit carry 0",
    ]
    assert error == (
        "1 drift(s) from the ledger; 1 level(s) whose incoming units are not what the "
        "transfers in transit carry."
    )


def test_a_transfer_line_changed_behind_the_services_back_is_a_mismatch(shops):
    # Given a line of the open transfer marked received in full, its units still incoming
    TransferLine.objects.filter(transfer=shops["open"], variant=shops["small"]).update(
        quantity_received=F("quantity")
    )

    out, err, error = _reconcile()

    assert out == ""
    assert err.splitlines() == [
        f"MISMATCH {shops['small'].sku} at STORE-02: incoming 1, transfers in transit carry 0"
    ]
    assert error == "1 level(s) whose incoming units are not what the transfers in transit carry."


def test_a_ship_that_wrote_one_end_only_breaks_the_conservation(shops):
    # Given a unit taken off MAIN's shelf by a "transfer_out" of the open transfer that never
    # put it in transit anywhere: level, variant and ledger agree with each other
    small, main = shops["small"], location_default()
    level = StockLevel.objects.get(variant=small, location=main)
    stock_movement(
        small,
        location=main,
        delta=-1,
        quantity_after=level.on_hand - 1,
        reason=MovementReason.TRANSFER_OUT,
        actor=CLERK,
        reference=shops["open"].number,
    ).save()
    StockLevel.objects.filter(pk=level.pk).update(on_hand=F("on_hand") - 1)
    Variant.objects.filter(pk=small.pk).update(quantity=F("quantity") - 1)

    out, err, error = _reconcile()

    assert out == ""
    assert err.splitlines() == [
        f"UNBALANCED {small.sku} in {shops['open'].number}: its transfer movements add up to "
        "-1 units on hand and in transit, not 0"
    ]
    assert error == "1 transfer movement(s) that do not conserve units."
