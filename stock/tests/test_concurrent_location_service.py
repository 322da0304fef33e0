"""Locations changed at once from many requests (PostgreSQL, threads released together by a
barrier): one default whatever the order, a code taken by one of them only, and an archive that
races a stock change at the location never leaves stock at an archived location."""

import functools
import threading
import time

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction

from catalog.tests.support import JOIN_TIMEOUT, race
from core.exceptions import Conflict, Protected
from stock.locations import location_create, location_update
from stock.models import Location, StockLevel, StockMovement
from stock.services import stock_adjust
from stock.tests.concurrency_support import ACTOR

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

THREADS = 6


def _make_default(code: str) -> Location:
    return location_update(location=Location.objects.get(code=code), data={"is_default": True})


def test_locations_made_the_default_at_once_leave_exactly_one_default():
    # Given six shops, none the default
    codes = [f"SHOP-{n}" for n in range(THREADS)]
    for code in codes:
        location_create(code=code, name=code, kind="store")

    # When each is made the default at the same moment
    outcomes = race([functools.partial(_make_default, code) for code in codes])

    # Then every request succeeded (each waited for the one before), and one default remains
    assert all(isinstance(outcome, Location) for outcome in outcomes), outcomes
    defaults = list(Location.objects.filter(is_default=True).values_list("code", flat=True))
    assert len(defaults) == 1
    assert defaults[0] in codes


def test_one_code_claimed_at_once_goes_to_one_request_the_others_hear_of_a_conflict():
    outcomes = race(
        [
            functools.partial(location_create, code="web", name=f"Web {n}", kind="online")
            for n in range(THREADS)
        ]
    )

    created = [outcome for outcome in outcomes if isinstance(outcome, Location)]
    conflicts = [outcome for outcome in outcomes if isinstance(outcome, Conflict)]
    assert (len(created), len(conflicts)) == (1, THREADS - 1), outcomes
    assert all(c.details == {"code": ["Another location has this code; codes are unique."]}
               for c in conflicts)  # fmt: skip
    assert Location.objects.filter(code="WEB").count() == 1


# How long the first transaction holds its lock after the second has started: long enough for
# the second to reach the point where it waits.
HOLD_SECONDS = 0.5


def _held_open(work, started: threading.Event, release: threading.Event):
    """``work`` in a transaction that stays open (its locks held) until ``release``."""

    def run():
        with transaction.atomic():
            outcome = work()
            started.set()
            if not release.wait(JOIN_TIMEOUT):
                raise AssertionError("never released")
        return outcome

    return run


def _after(started: threading.Event, release: threading.Event, work, waited: list[float]):
    """``work`` once the held transaction has started; it lets that one go a moment later,
    while ``work`` waits for its lock (or, were there none, has already written). How long
    ``work`` took goes into ``waited``."""

    def run():
        if not started.wait(JOIN_TIMEOUT):
            raise AssertionError("the held transaction never started")
        threading.Timer(HOLD_SECONDS, release.set).start()
        started_at = time.monotonic()
        try:
            return work()
        finally:
            waited.append(time.monotonic() - started_at)

    return run


def test_a_change_started_while_its_location_is_archived_waits_and_is_refused(make_product):
    # Given a shop that holds nothing yet, read by a request that is about to receive stock
    # there (the API resolves the code before the service runs)
    shop = location_create(code="SHOP-9", name="Shop", kind="store")
    variant = make_product(stock={"S-M": 4}).variants.get()
    before = StockMovement.objects.count()
    started, release, waited = threading.Event(), threading.Event(), []

    # When a manager archives the shop, and the delivery is booked while the archive is open
    archive = _held_open(
        lambda: location_update(location=shop, data={"is_active": False}), started, release
    )
    receive = _after(
        started,
        release,
        lambda: stock_adjust(
            variant_id=variant.pk, delta=6, reason="received", actor=ACTOR, location=shop
        ),
        waited,
    )
    archived, received = race([archive, receive])

    # Then the delivery waited for the archive, saw the shop archived and wrote nothing
    assert isinstance(archived, Location), archived
    assert not archived.is_active
    assert isinstance(received, ValidationError), received
    assert received.message_dict == {"location": ["SHOP-9 is archived and holds no stock."]}
    assert waited[0] >= HOLD_SECONDS / 2
    assert not StockLevel.objects.filter(location__code="SHOP-9", on_hand__gt=0).exists()
    assert StockMovement.objects.count() == before


def test_an_archive_started_while_a_change_there_is_open_waits_and_sees_its_units(make_product):
    # Given a shop, and a delivery there that has written but not yet committed
    shop = location_create(code="SHOP-9", name="Shop", kind="store")
    variant = make_product(stock={"S-M": 4}).variants.get()
    started, release, waited = threading.Event(), threading.Event(), []
    receive = _held_open(
        lambda: stock_adjust(
            variant_id=variant.pk, delta=6, reason="received", actor=ACTOR, location=shop
        ),
        started,
        release,
    )

    # When a manager archives the shop meanwhile
    archive = _after(
        started,
        release,
        lambda: location_update(location=shop, data={"is_active": False}),
        waited,
    )
    received, archived = race([receive, archive])

    # Then the archive waited for the delivery, counted its units and refused
    assert isinstance(received, StockMovement), received
    assert isinstance(archived, Protected), archived
    assert archived.details == {"location": "SHOP-9", "on_hand": 6, "committed": 0}
    assert waited[0] >= HOLD_SECONDS / 2
    assert Location.objects.get(code="SHOP-9").is_active
