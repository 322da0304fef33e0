"""A property-based test of the stock as a whole: random runs of orders (placed, fulfilled,
cancelled), manual changes, transfers (drafted, shipped, received in parts, closed short,
cancelled) and counts across four locations, checked step by step against a plain model of what
every level must hold, and at the end by ``reconcile_stock`` (every level and every variant
against the ledger, committed units against the open orders, units in transit against the open
transfers) and by the conservation of units: on hand everywhere plus in transit changes only by
what is not a transfer.

Each run happens inside a savepoint of the test's transaction and is rolled back after it, so
Hypothesis' examples start from the same four locations and two variants. The short run is part
of every suite; the long one (slow) runs in the PostgreSQL pass.
"""

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from django.core.management import call_command
from django.db import transaction
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from core.actors import Actor, user_actor
from orders.services import LineRequest, order_place, order_transition
from stock.exceptions import InsufficientStock, InvalidTransferLines, InvalidTransition
from stock.models import Location, LocationKind, MovementReason, StockLevel
from stock.selectors import location_default
from stock.services import stock_adjust
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

CLERK = Actor(kind="system", name="property test")
SIZES = ("S-M", "L-XL")
OPENING = 20  # units of each size at MAIN


@dataclass
class Level:
    on_hand: int = 0
    committed: int = 0
    incoming: int = 0

    @property
    def available(self) -> int:
        return self.on_hand - self.committed


@dataclass
class ModelOrder:
    pk: int
    location: int
    lines: dict[int, int]
    status: str = "placed"


@dataclass
class ModelTransfer:
    pk: int
    source: int
    destination: int
    lines: dict[int, int]  # variant id -> quantity
    line_ids: dict[int, int]  # variant id -> line id
    received: Counter[int] = field(default_factory=Counter)
    status: str = "draft"

    def in_transit(self, variant_id: int) -> int:
        return self.lines[variant_id] - self.received[variant_id]


class StockMachine(RuleBasedStateMachine):
    """Set up by ``stock_runs``: ``locations`` (ids), ``variants`` (ids), ``seller`` (an actor
    that may place orders)."""

    locations: list[Location]
    variant_ids: list[int]
    seller: Actor

    def __init__(self) -> None:
        super().__init__()
        self.savepoint = transaction.savepoint()
        self.levels: dict[tuple[int, int], Level] = {}
        for variant_id in self.variant_ids:
            self.level(variant_id, self.locations[0].pk).on_hand = OPENING
        # Units brought in or taken away by anything but a transfer, per variant.
        self.net: Counter[int] = Counter(dict.fromkeys(self.variant_ids, OPENING))
        self.orders: list[ModelOrder] = []
        self.transfers: list[ModelTransfer] = []

    def level(self, variant_id: int, location_id: int) -> Level:
        return self.levels.setdefault((variant_id, location_id), Level())

    def teardown(self) -> None:
        try:
            call_command("reconcile_stock", stdout=_Null(), stderr=_Null())
            self.conservation_holds()
        finally:
            transaction.savepoint_rollback(self.savepoint)

    # Strategies -------------------------------------------------------------------------

    def _location(self, index: int) -> Location:
        return self.locations[index % len(self.locations)]

    def _variant(self, index: int) -> int:
        return self.variant_ids[index % len(self.variant_ids)]

    # Manual changes and orders ----------------------------------------------------------

    @rule(v=st.integers(0, 1), where=st.integers(0, 3), delta=st.integers(-6, 8))
    def adjust(self, v: int, where: int, delta: int) -> None:
        variant_id, location = self._variant(v), self._location(where)
        if delta == 0:
            return
        level = self.level(variant_id, location.pk)
        reason = MovementReason.RECEIVED if delta > 0 else MovementReason.DAMAGED
        if delta < 0 and -delta > level.available:
            with pytest.raises(InsufficientStock):
                stock_adjust(
                    variant_id=variant_id,
                    delta=delta,
                    reason=reason,
                    actor=CLERK,
                    location=location,
                )
            return
        stock_adjust(
            variant_id=variant_id, delta=delta, reason=reason, actor=CLERK, location=location
        )
        level.on_hand += delta
        self.net[variant_id] += delta

    @rule(v=st.integers(0, 1), where=st.integers(0, 3), quantity=st.integers(1, 6))
    def place_order(self, v: int, where: int, quantity: int) -> None:
        variant_id, location = self._variant(v), self._location(where)
        level = self.level(variant_id, location.pk)
        place = lambda: order_place(  # noqa: E731
            lines=[LineRequest(quantity=quantity, variant_id=variant_id)],
            actor=self.seller,
            location=location,
        )
        if quantity > level.available:
            with pytest.raises(InsufficientStock):
                place()
            return
        order = place()
        level.committed += quantity
        self.orders.append(ModelOrder(order.pk, location.pk, {variant_id: quantity}))

    @precondition(lambda self: any(o.status == "placed" for o in self.orders))
    @rule(pick=st.integers(0, 50), fulfil=st.booleans())
    def settle_order(self, pick: int, fulfil: bool) -> None:
        open_orders = [o for o in self.orders if o.status == "placed"]
        order = open_orders[pick % len(open_orders)]
        if fulfil:
            order_transition(order_id=order.pk, action="pay", actor=self.seller)
            order_transition(order_id=order.pk, action="fulfil", actor=self.seller)
        else:
            order_transition(order_id=order.pk, action="cancel", actor=self.seller)
        for variant_id, quantity in order.lines.items():
            level = self.level(variant_id, order.location)
            level.committed -= quantity
            if fulfil:
                level.on_hand -= quantity
                self.net[variant_id] -= quantity
        order.status = "fulfilled" if fulfil else "cancelled"

    # Transfers ---------------------------------------------------------------------------

    @rule(
        # Mostly from the warehouse, where the stock starts, so that most drafts can ship.
        source=st.sampled_from([0, 0, 0, 1, 2, 3]),
        step=st.integers(1, 3),
        quantities=st.lists(st.integers(1, 5), min_size=1, max_size=2),
    )
    def draft(self, source: int, step: int, quantities: list[int]) -> None:
        start, end = self._location(source), self._location(source + step)
        lines = {self._variant(i): quantity for i, quantity in enumerate(quantities)}
        transfer = transfer_create(
            from_location=start,
            to_location=end,
            lines=[TransferLineRequest(variant_id=v, quantity=q) for v, q in lines.items()],
            actor=CLERK,
        )
        line_ids = {line.variant_id: line.pk for line in transfer.lines.all()}
        self.transfers.append(ModelTransfer(transfer.pk, start.pk, end.pk, lines, line_ids))

    def _pick(self, status: str, pick: int) -> ModelTransfer:
        found = [t for t in self.transfers if t.status == status]
        return found[pick % len(found)]

    @precondition(lambda self: any(t.status == "draft" for t in self.transfers))
    @rule(pick=st.integers(0, 50))
    def ship(self, pick: int) -> None:
        transfer = self._pick("draft", pick)
        short = [
            v for v, q in transfer.lines.items() if q > self.level(v, transfer.source).available
        ]
        if short:
            with pytest.raises(InsufficientStock) as refused:
                transfer_ship(transfer_id=transfer.pk, actor=CLERK)
            assert sorted(line["variant"] for line in refused.value.details["lines"]) == short
            return
        transfer_ship(transfer_id=transfer.pk, actor=CLERK)
        for variant_id, quantity in transfer.lines.items():
            self.level(variant_id, transfer.source).on_hand -= quantity
            self.level(variant_id, transfer.destination).incoming += quantity
        transfer.status = "in_transit"

    @precondition(lambda self: any(t.status == "in_transit" for t in self.transfers))
    @rule(pick=st.integers(0, 50), v=st.integers(0, 1), quantity=st.integers(1, 9))
    def receive(self, pick: int, v: int, quantity: int) -> None:
        transfer = self._pick("in_transit", pick)
        variant_id = list(transfer.lines)[v % len(transfer.lines)]
        receipt = [ReceiptLine(line_id=transfer.line_ids[variant_id], quantity=quantity)]
        if quantity > transfer.in_transit(variant_id):
            with pytest.raises(InvalidTransferLines):
                transfer_receive(transfer_id=transfer.pk, lines=receipt, actor=CLERK)
            return
        result = transfer_receive(transfer_id=transfer.pk, lines=receipt, actor=CLERK)
        level = self.level(variant_id, transfer.destination)
        level.incoming -= quantity
        level.on_hand += quantity
        transfer.received[variant_id] += quantity
        if all(transfer.in_transit(v) == 0 for v in transfer.lines):
            transfer.status = "received"
        assert result.status == transfer.status

    @precondition(lambda self: any(t.status == "in_transit" for t in self.transfers))
    @rule(pick=st.integers(0, 50))
    def close(self, pick: int) -> None:
        transfer = self._pick("in_transit", pick)
        transfer_close(transfer_id=transfer.pk, actor=CLERK)
        for variant_id in transfer.lines:
            lost = transfer.in_transit(variant_id)
            self.level(variant_id, transfer.destination).incoming -= lost
            self.net[variant_id] -= lost  # lost in transit: not a transfer's movement
        transfer.status = "received"

    @precondition(lambda self: any(t.status in ("draft", "in_transit") for t in self.transfers))
    @rule(pick=st.integers(0, 50))
    def cancel(self, pick: int) -> None:
        found = [t for t in self.transfers if t.status in ("draft", "in_transit")]
        transfer = found[pick % len(found)]
        if transfer.status == "in_transit" and transfer.received.total():
            with pytest.raises(InvalidTransition):
                transfer_cancel(transfer_id=transfer.pk, actor=CLERK)
            return
        transfer_cancel(transfer_id=transfer.pk, actor=CLERK)
        if transfer.status == "in_transit":
            for variant_id, quantity in transfer.lines.items():
                self.level(variant_id, transfer.source).on_hand += quantity
                self.level(variant_id, transfer.destination).incoming -= quantity
        transfer.status = "cancelled"

    @precondition(lambda self: any(t.status != "draft" for t in self.transfers))
    @rule(pick=st.integers(0, 50))
    def act_again(self, pick: int) -> None:
        """Shipping what is not a draft, or closing what is not in transit, changes nothing."""
        done = [t for t in self.transfers if t.status != "draft"]
        transfer = done[pick % len(done)]
        with pytest.raises(InvalidTransition):
            transfer_ship(transfer_id=transfer.pk, actor=CLERK)
        if transfer.status != "in_transit":
            with pytest.raises(InvalidTransition):
                transfer_close(transfer_id=transfer.pk, actor=CLERK)

    # Checks ------------------------------------------------------------------------------

    @invariant()
    def levels_are_the_model(self) -> None:
        found = {
            (level.variant_id, level.location_id): (level.on_hand, level.committed, level.incoming)
            for level in StockLevel.objects.filter(variant_id__in=self.variant_ids)
        }
        expected = {
            key: (level.on_hand, level.committed, level.incoming)
            for key, level in self.levels.items()
            if (level.on_hand, level.committed, level.incoming) != (0, 0, 0) or key in found
        }
        assert found == expected

    def conservation_holds(self) -> None:
        """On hand everywhere plus in transit, per variant, is what came in minus what went out
        by anything but a transfer."""
        totals: Counter[int] = Counter()
        for level in StockLevel.objects.filter(variant_id__in=self.variant_ids):
            totals[level.variant_id] += level.on_hand + level.incoming
        assert totals == self.net


class _Null:
    def write(self, text: str) -> None:
        pass


@pytest.fixture
def stock_runs(make_product, django_user_model) -> Callable[[int, int], None]:
    main = location_default()
    others = [
        Location.objects.create(code=code, name=code.title(), kind=kind)
        for code, kind in (
            ("STORE-01", LocationKind.STORE),
            ("STORE-02", LocationKind.STORE),
            ("WEB", LocationKind.ONLINE),
        )
    ]
    product = make_product(name="Property Tee", stock=dict.fromkeys(SIZES, OPENING))
    seller = user_actor(django_user_model.objects.create_user("seller", password="x"))

    def run(examples: int, steps: int) -> None:
        StockMachine.locations = [main, *others]
        StockMachine.variant_ids = sorted(product.variants.values_list("pk", flat=True))
        StockMachine.seller = seller
        run_state_machine_as_test(
            StockMachine,
            settings=settings(
                max_examples=examples,
                stateful_step_count=steps,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
            ),
        )

    return run


def test_short_random_runs_keep_every_unit_accounted_for(stock_runs):
    stock_runs(4, 25)


@pytest.mark.slow
def test_long_random_runs_keep_every_unit_accounted_for(stock_runs):
    stock_runs(25, 50)
