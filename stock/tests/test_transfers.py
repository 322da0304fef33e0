"""Transfers, through the service: ship, receive in parts, close short, cancel; every unit is on
hand somewhere or in transit, and the ledger explains every level."""

import pytest
from django.core.exceptions import ValidationError

from catalog.validators import MAX_QUANTITY
from core.actors import Actor
from stock import services as stock_services
from stock.exceptions import InsufficientStock, InvalidTransferLines, InvalidTransition
from stock.ledger import StockChange
from stock.models import MovementReason, StockLevel, StockMovement, TransferStatus
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
def sizes(make_product):
    tee = make_product(name="Tee", stock={"S-M": 5, "L-XL": 3})
    return tee.variants.get(size="S-M"), tee.variants.get(size="L-XL")


def _level(variant, location):
    level = StockLevel.objects.filter(variant=variant, location=location).first()
    return (level.on_hand, level.committed, level.incoming) if level else (0, 0, 0)


def _draft(main, store, *lines):
    return transfer_create(
        from_location=main,
        to_location=store,
        lines=[TransferLineRequest(variant_id=v.pk, quantity=q) for v, q in lines],
        actor=CLERK,
    )


def test_a_shipped_transfer_is_incoming_then_on_hand_at_the_destination(sizes, main, store):
    small, large = sizes
    transfer = _draft(main, store, (small, 2), (large, 3))
    assert transfer.number.startswith("TR-")
    assert len(transfer.number) == 13
    assert transfer.status == TransferStatus.DRAFT
    assert _level(small, main) == (5, 0, 0)  # a draft moves nothing

    transfer_ship(transfer_id=transfer.pk, actor=CLERK)

    assert _level(small, main) == (3, 0, 0)
    assert _level(small, store) == (0, 0, 2)
    assert _level(large, store) == (0, 0, 3)
    small.refresh_from_db()
    assert small.quantity == 3  # in transit: available nowhere
    out = StockMovement.objects.filter(reference=transfer.number, reason="transfer_out")
    assert sorted(out.values_list("location__code", "delta", "incoming_delta")) == [
        ("MAIN", -3, 0),
        ("MAIN", -2, 0),
        ("STORE-01", 0, 2),
        ("STORE-01", 0, 3),
    ]

    lines = {line.variant_id: line for line in transfer.lines.all()}
    transfer = transfer_receive(
        transfer_id=transfer.pk, lines=[ReceiptLine(lines[small.pk].pk, 2)], actor=CLERK
    )
    assert transfer.status == TransferStatus.IN_TRANSIT
    assert _level(small, store) == (2, 0, 0)
    transfer = transfer_receive(
        transfer_id=transfer.pk, lines=[ReceiptLine(lines[large.pk].pk, 3)], actor=CLERK
    )
    assert transfer.status == TransferStatus.RECEIVED
    assert transfer.received_at is not None
    assert _level(large, store) == (3, 0, 0)
    large.refresh_from_db()
    assert large.quantity == 3


def test_shipping_takes_only_what_is_available_all_or_nothing(sizes, main, store):
    small, large = sizes
    stock_services.stock_apply(  # an open order holds 4 of the 5
        changes=[StockChange(variant_id=small.pk, delta=0, committed=4)],
        reason=MovementReason.ORDER_PLACED,
        actor=CLERK,
    )
    transfer = _draft(main, store, (small, 2), (large, 1))
    before = StockMovement.objects.count()

    with pytest.raises(InsufficientStock) as refused:
        transfer_ship(transfer_id=transfer.pk, actor=CLERK)

    assert [line["sku"] for line in refused.value.details["lines"]] == [small.sku]
    assert refused.value.details["lines"][0]["available"] == 1
    assert StockMovement.objects.count() == before
    assert _level(large, main) == (3, 0, 0)
    transfer.refresh_from_db()
    assert transfer.status == TransferStatus.DRAFT


def test_receiving_more_than_is_in_transit_is_refused(sizes, main, store):
    small, _ = sizes
    transfer = _draft(main, store, (small, 2))
    transfer_ship(transfer_id=transfer.pk, actor=CLERK)
    line = transfer.lines.get()
    transfer_receive(transfer_id=transfer.pk, lines=[ReceiptLine(line.pk, 1)], actor=CLERK)

    with pytest.raises(InvalidTransferLines) as refused:
        transfer_receive(transfer_id=transfer.pk, lines=[ReceiptLine(line.pk, 2)], actor=CLERK)

    assert "quantity" in refused.value.details["lines"][0]
    assert _level(small, store) == (1, 0, 1)


def test_closing_short_writes_off_what_never_arrived(sizes, main, store):
    small, large = sizes
    transfer = _draft(main, store, (small, 2), (large, 3))
    transfer_ship(transfer_id=transfer.pk, actor=CLERK)
    line = transfer.lines.get(variant=large)
    transfer_receive(transfer_id=transfer.pk, lines=[ReceiptLine(line.pk, 1)], actor=CLERK)

    transfer = transfer_close(transfer_id=transfer.pk, actor=CLERK)

    assert transfer.status == TransferStatus.RECEIVED
    assert {line.variant_id: line.quantity_lost for line in transfer.lines.all()} == {
        small.pk: 2,
        large.pk: 2,
    }
    assert _level(small, store) == (0, 0, 0)
    assert _level(large, store) == (1, 0, 0)
    lost = StockMovement.objects.filter(reference=transfer.number, reason=MovementReason.LOST)
    assert sorted(lost.values_list("delta", "incoming_delta")) == [(0, -2), (0, -2)]


def test_cancelling_in_transit_puts_the_units_back_once(sizes, main, store):
    small, _ = sizes
    transfer = _draft(main, store, (small, 2))
    transfer_ship(transfer_id=transfer.pk, actor=CLERK)

    transfer = transfer_cancel(transfer_id=transfer.pk, actor=CLERK)

    assert transfer.status == TransferStatus.CANCELLED
    assert _level(small, main) == (5, 0, 0)
    assert _level(small, store) == (0, 0, 0)
    with pytest.raises(InvalidTransition):
        transfer_cancel(transfer_id=transfer.pk, actor=CLERK)
    assert _level(small, main) == (5, 0, 0)


def test_a_transfer_with_units_received_cannot_be_cancelled(sizes, main, store):
    small, _ = sizes
    transfer = _draft(main, store, (small, 2))
    transfer_ship(transfer_id=transfer.pk, actor=CLERK)
    line = transfer.lines.get()
    transfer_receive(transfer_id=transfer.pk, lines=[ReceiptLine(line.pk, 1)], actor=CLERK)

    with pytest.raises(InvalidTransition):
        transfer_cancel(transfer_id=transfer.pk, actor=CLERK)
    with pytest.raises(InvalidTransition):
        transfer_ship(transfer_id=transfer.pk, actor=CLERK)


def test_a_draft_needs_two_places_and_good_lines(sizes, main, store, archived):
    small, _ = sizes
    with pytest.raises(ValidationError) as same:
        _draft(main, main, (small, 1))
    assert "to_location" in same.value.message_dict
    with pytest.raises(ValidationError) as closed:
        _draft(main, archived, (small, 1))
    assert "to_location" in closed.value.message_dict
    with pytest.raises(InvalidTransferLines) as bad:
        transfer_create(
            from_location=main,
            to_location=store,
            lines=[
                TransferLineRequest(variant_id=small.pk, quantity=1),
                TransferLineRequest(sku=small.sku.lower(), quantity=1),
                TransferLineRequest(variant_id=0, quantity=1),
                TransferLineRequest(variant_id=sizes[1].pk, quantity=0),
            ],
            actor=CLERK,
        )
    assert bad.value.details["lines"] == [
        {},
        {"sku": ["This variant is in the transfer more than once."]},
        {"variant": ["No such variant."]},
        {"quantity": [f"From 1 to {MAX_QUANTITY}."]},
    ]


def test_closing_a_transfer_of_which_nothing_arrived_writes_it_all_off(sizes, main, store):
    # A shipment lost on the way: cancelling would put units back on a shelf they left.
    small, _ = sizes
    transfer = _draft(main, store, (small, 2))
    transfer_ship(transfer_id=transfer.pk, actor=CLERK)

    transfer = transfer_close(transfer_id=transfer.pk, actor=CLERK)

    assert transfer.status == TransferStatus.RECEIVED
    assert transfer.lines.get().quantity_lost == 2
    assert _level(small, main) == (3, 0, 0)
    assert _level(small, store) == (0, 0, 0)
