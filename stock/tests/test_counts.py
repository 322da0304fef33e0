"""Count sessions (``stock.counts``): a snapshot, counts entered by scanning or by quantity, a
preview, and one all-or-nothing apply that corrects only the real difference, however the shop
sold and received meanwhile."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from catalog.models import Variant
from core.actors import Actor
from core.api.models import Scope
from core.api.services import api_key_create
from core.exceptions import Conflict
from stock import counts
from stock.exceptions import InsufficientStock, InvalidTransition, LocationNotAllowed
from stock.ledger import StockChange
from stock.locations import location_change_errors, location_update
from stock.models import CountLine, CountSession, CountStatus, MovementReason
from stock.services import stock_adjust, stock_apply, stock_count
from stock.tests.location_support import everything, last_movement_id, levels, movements

pytestmark = pytest.mark.django_db

CLERK = Actor(kind="system", name="clerk")
# Valid EAN-13s (their check digits hold).
BARCODE_S, BARCODE_L = "4006381333931", "5901234123457"


@pytest.fixture
def tee(make_product, store):
    """A tee at the shop: 6 S-M (barcode BARCODE_S), 3 L-XL (BARCODE_L), at 29.90; a pant, 2."""
    product = make_product(name="Tee", stock={"S-M": 0, "L-XL": 0})
    Variant.objects.filter(product=product, size="S-M").update(barcode=BARCODE_S)
    Variant.objects.filter(product=product, size="L-XL").update(barcode=BARCODE_L)
    small, large = product.variants.get(size="S-M"), product.variants.get(size="L-XL")
    pant = make_product(name="Pant", category="Pants", price="50.00", stock={"S-M": 0})
    trousers = pant.variants.get()
    receive(small, 6, store)
    receive(large, 3, store)
    receive(trousers, 2, store)
    return {"product": product, "small": small, "large": large, "pant": trousers}


def receive(variant, units, location):
    stock_adjust(
        variant_id=variant.pk, delta=units, reason="received", actor=CLERK, location=location
    )


def sell(variant, units, location):
    """A till sale: units taken off the shelf at once."""
    stock_apply(
        changes=[StockChange(variant_id=variant.pk, delta=-units)],
        location=location,
        reason=MovementReason.SALE,
        actor=CLERK,
        reference="TILL",
    )


def commit(variant, units, location):
    stock_apply(
        changes=[StockChange(variant_id=variant.pk, delta=0, committed=units)],
        location=location,
        reason=MovementReason.ORDER_PLACED,
        actor=CLERK,
        reference="SO-1",
    )


def start(store, **kwargs):
    return counts.count_start(location=store, actor=CLERK, **kwargs)


def enter(session, **kwargs):
    return counts.count_enter(session_id=session.pk, actor=CLERK, **kwargs)


def apply(session):
    return counts.count_apply(session_id=session.pk, actor=CLERK)


def lines(session):
    """(SKU, snapshot, counted, expected at entry) of each line, by variant."""
    return [
        (line.variant.sku, line.snapshot_on_hand, line.counted, line.expected_at_entry)
        for line in CountLine.objects.filter(session=session).order_by("variant_id")
    ]


def corrections(result):
    return [(c.line.variant.sku, c.on_hand, c.units, c.value) for c in result.corrections]


# Starting


def test_a_session_snapshots_every_level_at_its_location(tee, store, main):
    small, large, pant = tee["small"], tee["large"], tee["pant"]
    receive(small, 4, main)  # elsewhere: not in the count

    session = start(store, note="  Saturday  ")

    assert session.status == CountStatus.OPEN
    assert (session.location, session.product, session.note) == (store, None, "Saturday")
    assert (session.actor_kind, session.actor) == ("system", "clerk")
    assert lines(session) == [
        (small.sku, 6, None, None),
        (large.sku, 3, None, None),
        (pant.sku, 2, None, None),
    ]


def test_a_product_filter_snapshots_each_of_its_variants_with_or_without_a_level(
    make_product, tee, store
):
    shorts = make_product(name="Shorts", stock={"S-M": 0, "L-XL": 0})
    short_small = shorts.variants.get(size="S-M")
    receive(short_small, 2, store)

    session = start(store, product=shorts)

    assert lines(session) == [
        (short_small.sku, 2, None, None),
        (shorts.variants.get(size="L-XL").sku, 0, None, None),
    ]


def test_a_second_open_session_at_a_location_is_refused(tee, store, main):
    first = start(store)

    with pytest.raises(Conflict) as refused:
        start(store)

    assert refused.value.details == {"location": "STORE-01", "count": first.pk}
    assert CountSession.objects.count() == 1
    start(main)  # another location may count meanwhile
    counts.count_cancel(session_id=first.pk, actor=CLERK)
    start(store)  # and once the first is over, so may this one


def test_the_database_allows_one_open_session_per_location(tee, store):
    first = start(store)
    with pytest.raises(IntegrityError), transaction.atomic():
        CountSession.objects.create(location=store, actor_kind="system", actor="x")
    assert list(CountSession.objects.all()) == [first]


def test_a_session_at_an_archived_location_or_with_an_archived_product_is_refused(
    make_product, archived, store
):
    with pytest.raises(ValidationError) as at_archived:
        start(archived)
    old = make_product(name="Old", is_active=False)
    with pytest.raises(ValidationError) as of_archived:
        start(store, product=old)

    assert at_archived.value.message_dict == {
        "location": ["STORE-02 is archived and holds no stock."]
    }
    assert of_archived.value.message_dict == {"product": ["Old is archived: nothing to count."]}
    assert not CountSession.objects.exists()


def test_a_key_bound_to_another_location_may_not_count_here(tee, store, main):
    key, _ = api_key_create(name="till", scopes=[Scope.STOCK_WRITE])
    store.api_keys.add(key)
    till = Actor(kind="api_key", name="till", api_key_id=key.pk)
    at_main = start(main)

    with pytest.raises(LocationNotAllowed):
        counts.count_start(location=main, actor=till)
    with pytest.raises(LocationNotAllowed):
        counts.count_enter(session_id=at_main.pk, actor=till, sku=tee["small"].sku)
    with pytest.raises(LocationNotAllowed):
        counts.count_apply(session_id=at_main.pk, actor=till)
    with pytest.raises(LocationNotAllowed):
        counts.count_cancel(session_id=at_main.pk, actor=till)
    counts.count_start(location=store, actor=till)  # its own


# Entering counts


def test_scanning_adds_one_and_a_counted_quantity_replaces_the_count(tee, store):
    small = tee["small"]
    session = start(store)

    enter(session, barcode=BARCODE_S)
    enter(session, barcode=BARCODE_S)
    line = enter(session, sku=small.sku.lower())

    assert (line.counted, line.expected_at_entry) == (3, 6)
    assert enter(session, variant_id=small.pk, counted=5).counted == 5
    assert enter(session, barcode=BARCODE_S).counted == 6
    assert enter(session, barcode=BARCODE_S, counted=0).counted == 0


def test_a_variant_not_in_the_snapshot_gets_a_line_if_the_session_counts_it(
    make_product, tee, store, main
):
    # A hat with stock at MAIN only: no level at the shop when the session starts.
    hat = make_product(name="Hat", stock={"S-M": 3}).variants.get()
    session = start(store)

    line = enter(session, sku=hat.sku)

    assert (line.snapshot_on_hand, line.counted, line.expected_at_entry) == (0, 1, 0)
    assert lines(session)[-1] == (hat.sku, 0, 1, 0)
    # Applied, the hat gets its first level at the shop.
    apply(session)
    assert levels()[(hat.sku, "STORE-01")] == (1, 0)
    assert levels()[(hat.sku, "MAIN")] == (3, 0)


def test_a_variant_of_another_product_than_the_filter_is_refused(tee, store):
    session = start(store, product=tee["product"])

    with pytest.raises(ValidationError) as refused:
        enter(session, sku=tee["pant"].sku)

    assert refused.value.message_dict == {
        "sku": [
            f"{tee['pant'].sku} is not a variant of Tee (Black, FW24), the product this session counts."
        ]
    }
    assert [line[2] for line in lines(session)] == [None, None]


@pytest.mark.parametrize(
    ("given", "errors"),
    [
        ({"barcode": "0000000000000"}, {"barcode": ["No variant with this barcode."]}),
        ({"sku": "NOPE"}, {"sku": ["No variant with this SKU."]}),
        ({"variant_id": 999_999}, {"variant": ["No variant with this id."]}),
        (
            {"sku": "X", "barcode": BARCODE_S},
            ["Name the variant by exactly one of barcode, sku, variant."],
        ),
        ({}, ["Name the variant by exactly one of barcode, sku, variant."]),
        (
            {"barcode": BARCODE_S, "counted": -1},
            {"counted": ["A counted quantity is from 0 to 1000000."]},
        ),
    ],
)
def test_an_entry_that_names_no_variant_or_a_bad_count_is_refused(tee, store, given, errors):
    session = start(store)
    with pytest.raises(ValidationError) as refused:
        enter(session, **given)
    error = refused.value
    assert (error.message_dict if hasattr(error, "error_dict") else error.messages) == errors
    assert all(line[2] is None for line in lines(session))


def test_an_applied_or_cancelled_session_takes_no_more_counts(tee, store):
    session = start(store)
    enter(session, barcode=BARCODE_S, counted=6)
    apply(session)
    other = start(store)
    counts.count_cancel(session_id=other.pk, actor=CLERK)

    for done in (session, other):
        with pytest.raises(InvalidTransition):
            enter(done, barcode=BARCODE_S)
    assert lines(session)[0][2] == 6


# Applying


def test_applying_corrects_counted_variants_and_leaves_the_rest_alone(tee, store):
    small, large, pant = tee["small"], tee["large"], tee["pant"]
    session = start(store)
    enter(session, barcode=BARCODE_S, counted=4)  # 2 missing
    enter(session, barcode=BARCODE_L, counted=3)  # right
    start_id = last_movement_id()

    preview = counts.count_preview(session=session)
    assert corrections(preview) == [
        (small.sku, 6, -2, Decimal("-59.80")),
        (large.sku, 3, 0, Decimal("0.00")),
    ]
    assert (preview.units, preview.value) == (-2, Decimal("-59.80"))
    assert last_movement_id() == start_id  # a preview changes nothing

    result = apply(session)

    assert corrections(result) == corrections(preview)
    assert levels()[(small.sku, "STORE-01")] == (4, 0)
    assert levels()[(large.sku, "STORE-01")] == (3, 0)
    assert levels()[(pant.sku, "STORE-01")] == (2, 0)  # not counted: left alone
    reference = f"COUNT-{session.pk}"
    assert movements(start_id) == [
        (small.sku, "count_correction", -2, 0, 4, 0, "STORE-01", reference),
        (large.sku, "count_correction", 0, 0, 3, 0, "STORE-01", reference),
    ]
    session.refresh_from_db()
    assert session.status == CountStatus.APPLIED
    assert session.applied_at is not None
    assert [line.correction for line in session.lines.order_by("variant_id")] == [-2, 0, None]


def test_a_sale_during_the_count_is_not_mistaken_for_shrinkage(tee, store):
    small, large = tee["small"], tee["large"]
    session = start(store)
    sell(small, 1, store)  # before the shelf is counted: the shelf holds 5
    receive(large, 2, store)  # a delivery shelved before the count: 5 there
    enter(session, barcode=BARCODE_S, counted=5)
    enter(session, barcode=BARCODE_L, counted=5)
    sell(small, 2, store)  # after the count: 3 left, the count knew 5
    sell(large, 1, store)

    result = apply(session)

    # Nothing was missing: the ledger's 3 and 4 stand, and each correction is 0.
    assert [c.units for c in result.corrections] == [0, 0]
    assert levels()[(small.sku, "STORE-01")] == (3, 0)
    assert levels()[(large.sku, "STORE-01")] == (4, 0)


def test_a_real_loss_during_the_count_is_corrected_once_sales_after_it_stand(tee, store):
    small = tee["small"]
    session = start(store)
    sell(small, 1, store)
    enter(session, barcode=BARCODE_S, counted=3)  # the ledger says 5: 2 gone
    sell(small, 1, store)

    apply(session)

    assert levels()[(small.sku, "STORE-01")] == (2, 0)


def test_zero_the_rest_empties_uncounted_lines_from_their_on_hand_at_apply_time(tee, store):
    small, large, pant = tee["small"], tee["large"], tee["pant"]
    session = start(store, zero_uncounted=True)
    enter(session, barcode=BARCODE_S, counted=6)
    receive(pant, 1, store)  # 3 now

    result = apply(session)

    assert corrections(result) == [
        (small.sku, 6, 0, Decimal("0.00")),
        (large.sku, 3, -3, Decimal("-89.70")),
        (pant.sku, 3, -3, Decimal("-150.00")),
    ]
    assert {key: value for key, value in levels().items() if key[1] == "STORE-01"} == {
        (small.sku, "STORE-01"): (6, 0),
        (large.sku, "STORE-01"): (0, 0),
        (pant.sku, "STORE-01"): (0, 0),
    }


def test_applying_again_returns_the_same_result_and_moves_nothing(tee, store):
    session = start(store, zero_uncounted=True)
    enter(session, barcode=BARCODE_S, counted=2)
    first = apply(session)
    sell(tee["small"], 1, store)
    after = last_movement_id()

    again = apply(session)

    assert corrections(again) == corrections(first)
    assert last_movement_id() == after
    assert levels()[(tee["small"].sku, "STORE-01")] == (1, 0)
    assert corrections(counts.count_preview(session=again.session)) == corrections(first)


def test_a_count_below_the_committed_units_refuses_the_whole_session(tee, store):
    small, large = tee["small"], tee["large"]
    commit(small, 4, store)
    session = start(store)
    enter(session, barcode=BARCODE_L, counted=1)
    enter(session, barcode=BARCODE_S, counted=3)
    before = everything()

    preview = counts.count_preview(session=session)
    with pytest.raises(InsufficientStock) as refused:
        apply(session)

    assert [c.refused for c in preview.corrections] == [True, False]
    assert refused.value.details == {
        "location": "STORE-01",
        "lines": [
            {
                "variant": small.pk,
                "sku": small.sku,
                "location": "STORE-01",
                "requested": 4,
                "available": 2,
            }
        ],
    }
    assert everything() == before
    session.refresh_from_db()
    assert session.status == CountStatus.OPEN
    assert large.sku  # the other line was not applied alone either (everything() above)


def test_a_cancelled_session_cannot_be_applied_nor_an_applied_one_cancelled(tee, store):
    session = start(store)
    enter(session, barcode=BARCODE_S, counted=1)
    cancelled = counts.count_cancel(session_id=session.pk, actor=CLERK)
    assert cancelled.status == CountStatus.CANCELLED
    assert cancelled.cancelled_at is not None
    assert counts.count_cancel(session_id=session.pk, actor=CLERK).status == "cancelled"
    before = everything()

    with pytest.raises(InvalidTransition) as refused:
        apply(session)

    assert refused.value.details == {"count": session.pk, "status": "cancelled"}
    assert everything() == before
    applied = start(store)
    apply(applied)
    with pytest.raises(InvalidTransition):
        counts.count_cancel(session_id=applied.pk, actor=CLERK)


# Around a session


def test_a_single_variant_count_is_refused_where_a_session_is_open(tee, store, main):
    small = tee["small"]
    session = start(store)
    before = everything()

    with pytest.raises(Conflict) as refused:
        stock_count(variant_id=small.pk, quantity=1, actor=CLERK, location=store)

    assert refused.value.details == {"location": "STORE-01", "count": session.pk}
    assert everything() == before
    stock_count(variant_id=small.pk, quantity=1, actor=CLERK, location=main)  # elsewhere: fine


def test_a_location_with_an_open_session_cannot_be_archived(tee, make_product):
    from stock.locations import location_create

    empty = location_create(code="POP-UP", name="Pop-up", kind="store")
    session = counts.count_start(location=empty, actor=CLERK)

    assert location_change_errors(empty, is_active=False, is_default=False) == {
        "is_active": f"A count session (COUNT-{session.pk}) is open at POP-UP: apply or cancel "
        "it before archiving the location."
    }
    with pytest.raises(Conflict):
        location_update(location=empty, data={"is_active": False})
    empty.refresh_from_db()
    assert empty.is_active

    counts.count_cancel(session_id=session.pk, actor=CLERK)
    assert not location_update(location=empty, data={"is_active": False}).is_active
